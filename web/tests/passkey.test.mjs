// Passkeys in a real browser: Debian's Chromium with a DevTools virtual authenticator (CTAP2,
// resident keys, user verification) against the real `trygg demo` server. A new administrator
// enrols, adds a passkey on the account page, signs out, and signs in with the passkey alone,
// without typing an e-mail address. An authenticator that fails user verification signs nobody
// in; a removed passkey no longer works, and the server says so.
//
// The page is opened at https://localhost:PORT, not 127.0.0.1: WebAuthn needs a host name as the
// relying party id, and without `server.public_url` the server's is `localhost`.
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
  runTrygg,
  serverStartTimeoutMs,
  startServer,
  stopServer,
  testTimeoutMs,
  tryggBin,
} from "./support.mjs";

const admin = { email: "pia.passkey@example.se", name: "Pia Passkey" };
const password = "ett långt lösenord för nyckeltestet";
const passkeyName = "Testdator";
const signedInAs = `Inloggad som ${admin.name} (${admin.email})`;

describe("passkey registration and sign-in in Chromium with a virtual authenticator", () => {
  let server;
  let browser;
  let page;
  let problems;
  let dataDir;
  let cdp;
  let authenticatorId;
  const provoked = [];

  before(
    async () => {
      const bin = tryggBin();
      dataDir = await mkdtemp(join(tmpdir(), "trygg-web-passkey-"));
      server = await startServer(bin, dataDir);
      const bootstrap = await bootstrapAdmin(bin, dataDir, admin);
      const url = new URL(server.baseUrl);
      url.hostname = "localhost";
      browser = await launchBrowser();
      const context = await newContext(browser, url.origin, "sv-SE");
      ({ page, problems } = await openWatchedPage(context));
      cdp = await context.newCDPSession(page);
      await cdp.send("WebAuthn.enable");
      ({ authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
        options: {
          protocol: "ctap2",
          transport: "internal",
          hasResidentKey: true,
          hasUserVerification: true,
          isUserVerified: true,
          automaticPresenceSimulation: true,
        },
      }));
      await page.goto(`/enrol#${bootstrap.token}`);
      await enrol(page, password);
    },
    { timeout: serverStartTimeoutMs + 60_000 },
  );

  after(async () => {
    await browser?.close().catch(() => {});
    killServer(server);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("adds a named passkey on the account page", { timeout: testTimeoutMs }, async () => {
    const main = page.getByRole("main");
    await main.getByText(signedInAs, { exact: true }).waitFor();
    await main.getByText("Du har inga nycklar ännu.").waitFor();

    // A passkey without a name is refused before anything is sent.
    await page.getByRole("button", { name: "Lägg till nyckel" }).click();
    await page.locator("#passkeys-error").getByText("Ge nyckeln ett namn.").waitFor();
    assert.equal(await page.getByLabel("Namn på nyckeln").getAttribute("aria-invalid"), "true");

    await page.getByLabel("Namn på nyckeln").fill(passkeyName);
    await page.getByRole("button", { name: "Lägg till nyckel" }).click();
    await page.locator("#passkeys-status").getByText(`Nyckeln ”${passkeyName}” är tillagd.`).waitFor();
    const items = main.locator("ul.passkeys li[data-passkey]");
    assert.equal(await items.count(), 1);
    assert.match(await items.first().textContent(), new RegExp(`${passkeyName}.*Senast använd: Aldrig`));

    // The authenticator holds one discoverable credential for this site, for this account.
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].isResidentCredential, true, "the passkey is discoverable");
    assert.equal(credentials[0].rpId, "localhost");

    await assertClean(page, problems, provoked);
  });

  it("signs in with the passkey alone, without an e-mail address", { timeout: testTimeoutMs }, async () => {
    await signOut(page);
    await page.getByRole("button", { name: "Logga in med nyckel (passkey)" }).click();
    await page.waitForURL(/\/account$/);
    await page.getByRole("main").getByText(signedInAs, { exact: true }).waitFor();

    const session = await (await page.request.get("/api/v1/session")).json();
    assert.equal(session.session.auth_method, "passkey");
    assert.ok(session.session.mfa_at_ms > Date.now() - 60_000, "a passkey with user verification is a fresh second factor");
    // The sign-in moved the passkey's last use.
    const { passkeys } = await (await page.request.get("/api/v1/passkeys")).json();
    assert.equal(passkeys.length, 1);
    assert.ok(passkeys[0].last_used_ms !== null, "the last use is recorded");

    await assertClean(page, problems, provoked);
  });

  it("signs nobody in when the authenticator cannot verify the person", { timeout: testTimeoutMs }, async () => {
    await signOut(page);
    await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: false });
    await page.getByRole("button", { name: "Logga in med nyckel (passkey)" }).click();
    await page
      .getByRole("alert")
      .getByText("Ingen nyckel användes. Försök igen, eller använd lösenord och kod.")
      .waitFor();
    assert.equal(new URL(page.url()).pathname, "/sign-in");
    assert.equal((await page.request.get("/api/v1/session")).status(), 401);
    await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: true });
  });

  it("refuses a passkey after it is removed", { timeout: testTimeoutMs }, async () => {
    // Signed in with the passkey again, the person removes it (the passkey is a fresh second
    // factor, so no step-up is asked for).
    await page.getByRole("button", { name: "Logga in med nyckel (passkey)" }).click();
    await page.waitForURL(/\/account$/);
    const main = page.getByRole("main");
    await main.locator("ul.passkeys li[data-passkey]").getByRole("button", { name: "Ta bort" }).click();
    await page
      .locator("#passkeys-status")
      .getByText(`Nyckeln ”${passkeyName}” är borttagen, och dina andra sessioner är utloggade.`)
      .waitFor();
    await main.getByText("Du har inga nycklar ännu.").waitFor();

    // The authenticator still holds the credential; the server no longer accepts it.
    await signOut(page);
    await page.getByRole("button", { name: "Logga in med nyckel (passkey)" }).click();
    await page
      .getByRole("alert")
      .getByText("Nyckeln godtogs inte. Försök igen, eller logga in med lösenord och kod.")
      .waitFor();
    provoked.push("401 GET /api/v1/session", "401 POST /api/v1/session/passkey/finish");
    assert.equal(new URL(page.url()).pathname, "/sign-in");
  });

  it("leaves an intact audit trail with each passkey event", { timeout: testTimeoutMs }, async () => {
    assert.deepEqual(await stopServer(server), { code: 0, signal: null });
    const verify = await runTrygg(tryggBin(), ["audit", "verify", "--data-dir", dataDir, "--json"]);
    assert.equal(verify.code, 0, `audit verify failed\n${verify.stdout}\n${verify.stderr}`);
  });
});

async function signOut(page) {
  await page.goto("/account");
  await page.getByRole("main").getByText(signedInAs, { exact: true }).waitFor();
  await page.getByRole("button", { name: "Logga ut", exact: true }).click();
  await page.waitForURL(/\/sign-in$/);
  await page.getByLabel("E-postadress").waitFor();
}
