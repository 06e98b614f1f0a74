// Staff single sign-on in a real browser: Debian's Chromium (playwright-core) against the real
// `trygg demo` server and a real OpenID Provider (the npm `oidc-provider` package, started here
// from oidc-provider.mjs on its own HTTPS port, so the return to Trygg is a cross-site top-level
// navigation exactly as with a real provider).
//
// The first administrator enrols the ordinary way; then, in a fresh browser, she clicks "Sign in
// with your organisation", signs in at the provider (which asserts password and one-time code),
// and lands on her account page signed in, with a session the server records as single sign-on.
// A colleague whose provider sign-in had one factor only comes back to the sign-in page with the
// reason in words and no session. Like the other browser tests it fails on any CSP violation,
// console error, page error, failed request or unexpected error response.
//
// Run it with TRYGG_BIN naming a built binary, e.g.
//   TRYGG_BIN=../target/debug/trygg npm test

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  assertClean,
  bootstrapAdmin,
  enrol,
  killServer,
  launchBrowser,
  newContext,
  openWatchedPage,
  serverStartTimeoutMs,
  startOidcProvider,
  startServer,
  testTimeoutMs,
  tryggBin,
} from "./support.mjs";

const admin = { email: "ada.admin@example.se", name: "Ada Admin" };
const password = "ett långt och hemligt lösenord 2026";
const notSignedIn = "401 GET /api/v1/session";

describe("staff single sign-on in Chromium against `trygg demo` and a real OpenID Provider", () => {
  let provider;
  let server;
  let browser;
  let dataDir;
  let providerDir;

  before(
    async () => {
      const bin = tryggBin();
      providerDir = await mkdtemp(join(tmpdir(), "trygg-web-oidc-"));
      provider = await startOidcProvider(providerDir);
      dataDir = await mkdtemp(join(tmpdir(), "trygg-web-sso-"));
      server = await startServer(bin, dataDir, {
        env: {
          TRYGG_STAFF_IDP__ISSUER: provider.issuer,
          TRYGG_STAFF_IDP__CLIENT_ID: "trygg-staff",
          TRYGG_STAFF_IDP__CLIENT_SECRET: "staff-secret",
          TRYGG_STAFF_IDP__CA_FILE: provider.cert,
          TRYGG_STAFF_IDP__SCOPES: "openid,email,profile,groups",
          TRYGG_STAFF_IDP__ROLE_MAPPING: "trygg-admins=admin,trygg-advisers=adviser",
        },
      });
      const bootstrap = await bootstrapAdmin(bin, dataDir, admin);
      browser = await launchBrowser();

      // Ada enrols the ordinary way first: single sign-on only signs in existing accounts.
      const context = await newContext(browser, server.baseUrl, "sv-SE");
      const { page } = await openWatchedPage(context);
      await page.goto(`/enrol#${bootstrap.token}`);
      await enrol(page, password);
      await context.close();
    },
    { timeout: serverStartTimeoutMs + 60_000 },
  );

  after(async () => {
    await browser?.close().catch(() => {});
    killServer(server);
    provider?.child.kill("SIGTERM");
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    if (providerDir) await rm(providerDir, { recursive: true, force: true });
  });

  /** Opens the sign-in page in a fresh browser, clicks single sign-on, signs in at the provider. */
  async function signInAtProvider(locale, user, buttonName) {
    const context = await newContext(browser, server.baseUrl, locale);
    const { page, problems } = await openWatchedPage(context);
    await page.goto("/sign-in");
    const button = page.getByRole("link", { name: buttonName });
    await button.waitFor();
    await button.click();
    await page.waitForURL((url) => url.origin === provider.issuer);
    await page.getByLabel("User name").fill(user);
    await page.getByLabel("Password").fill("test-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((url) => url.origin === server.baseUrl && !url.pathname.startsWith("/api/"));
    return { context, page, problems };
  }

  it("signs a staff member in through the organisation's provider", { timeout: testTimeoutMs }, async () => {
    const { context, page, problems } = await signInAtProvider("en-GB", "ada", "Sign in with your organisation");
    assert.equal(new URL(page.url()).pathname, "/account");
    const main = page.getByRole("main");
    await main.getByText(`Signed in as ${admin.name} (${admin.email})`, { exact: true }).waitFor();

    // The server recorded a single sign-on session with the provider's MFA and mapped roles.
    const session = await page.evaluate(async () => (await fetch("/api/v1/session")).json());
    assert.equal(session.session.auth_method, "sso+identity_provider");
    assert.deepEqual(session.account.roles, ["admin"]);
    const cookies = await context.cookies(server.baseUrl);
    assert.ok(!cookies.some((cookie) => cookie.name === "__Host-trygg-sso"), "the binding cookie is gone");
    const sessionCookie = cookies.find((cookie) => cookie.name === "__Host-trygg-session");
    assert.ok(sessionCookie?.httpOnly && sessionCookie.secure && sessionCookie.sameSite === "Strict");

    await assertClean(page, problems);
    await context.close();
  });

  it("refuses a provider sign-in without a second factor, saying why", { timeout: testTimeoutMs }, async () => {
    const { context, page, problems } = await signInAtProvider("sv-SE", "bo", "Logga in med din organisations konto");
    // Back on the sign-in page, the reason shown, and the code gone from the address bar.
    assert.equal(new URL(page.url()).pathname, "/sign-in");
    await page.getByRole("alert").getByText(/bekräftade inte två steg/).waitFor();
    await page.waitForFunction(() => location.search === "");
    const session = await page.evaluate(async () => (await fetch("/api/v1/session")).status);
    assert.equal(session, 401);
    // The only refusal is the one this test asked for.
    await assertClean(page, problems, [notSignedIn]);
    await context.close();
  });
});
