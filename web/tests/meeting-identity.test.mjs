// Identity proof in a meeting's join flow, in Chromium against the real `trygg demo` server and a
// real OpenID Provider as the customer e-ID broker (oidc-provider.mjs, on its own HTTPS port, so
// the round trip to it is a cross-site navigation as with a real e-ID).
//
// The adviser books, on the dashboard, a meeting that asks the customer to identify. The
// customer opens the link, consents, clicks "Identifiera dig med e-legitimation", signs in at the
// provider and comes back to the join page, which hands the e-ID sign-in in as the proof and
// moves on to the device check without asking anything again; she knocks, and the adviser sees
// in the lobby the name her e-ID verified and her personal identity number masked. Then, signed
// in by that e-ID, she adds a passkey on her account page (a CDP virtual authenticator), signs
// out, and in a second meeting (passcode or identity proof) identifies with the passkey alone.
// Like the other browser tests it fails on any CSP violation, console error, page error, failed
// request or unexpected error response, and the audit trail verifies at the end.
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
  bookMeeting,
  bootstrapAdmin,
  customerIdpEnv,
  enrolAdviser,
  killServer,
  launchBrowser,
  newContext,
  openWatchedPage,
  runTrygg,
  serverStartTimeoutMs,
  startOidcProvider,
  startServer,
  stopServer,
  testTimeoutMs,
  tryggBin,
} from "./support.mjs";

const admin = { email: "ada.admin@example.se", name: "Ada Admin" };
const password = "ett långt lösenord för identitetstestet";
const passcode = "kanelbulle-42";

describe("identity proof in a meeting's join flow: e-ID, then a returning customer's passkey", () => {
  let provider;
  let providerDir;
  let server;
  let browser;
  let dataDir;
  let baseUrl;
  let adviser;
  let customer;
  let cdp;
  let firstMeeting;

  /** The customer's page at the meeting's link, through consent, to the credential step. */
  async function toCredential(meetingId) {
    const page = customer.page;
    await page.goto(`/m/${meetingId}`);
    await page.getByRole("heading", { name: "Integritet och samtycke" }).waitFor();
    await page.getByLabel(/Genomföra mötet/).check();
    await page.getByRole("button", { name: "Fortsätt" }).click();
    await page.getByRole("heading", { name: "Visa vem du är" }).waitFor();
  }

  /** From the device check to the lobby, as `name`. */
  async function deviceAndKnock(name) {
    const page = customer.page;
    await page.locator("#device-result").getByText("Kameran och mikrofonen fungerar.").waitFor();
    await page.getByRole("button", { name: "Fortsätt" }).click();
    await page.getByLabel("Ditt namn").fill(name);
    await page.getByRole("button", { name: "Knacka på" }).click();
    await page.locator("#waiting-status").getByText("Du väntar i väntrummet.", { exact: false }).waitFor();
  }

  /** The adviser's room of `meetingId`: the knock of `name`, with what was verified about her. */
  async function knockSeenByAdviser(meetingId, name) {
    const page = adviser.page;
    await page.goto(`/meetings/${meetingId}/room`);
    const knock = page.locator("article.knock", { has: page.getByRole("heading", { name }) });
    await knock.waitFor();
    return await knock.textContent();
  }

  before(
    async () => {
      const bin = tryggBin();
      providerDir = await mkdtemp(join(tmpdir(), "trygg-web-eid-"));
      provider = await startOidcProvider(providerDir);
      dataDir = await mkdtemp(join(tmpdir(), "trygg-web-meeting-identity-"));
      server = await startServer(bin, dataDir, { env: customerIdpEnv(provider) });
      const bootstrap = await bootstrapAdmin(bin, dataDir, admin);
      // WebAuthn needs a host name, not an address.
      const url = new URL(server.baseUrl);
      url.hostname = "localhost";
      baseUrl = url.origin;
      browser = await launchBrowser({ media: true });
      adviser = await enrolAdviser(browser, baseUrl, bootstrap, { email: "rut.radgivare@example.se", name: "Rut Rådgivare", password });

      const customerContext = await newContext(browser, baseUrl, "sv-SE");
      customer = await openWatchedPage(customerContext);
      cdp = await customerContext.newCDPSession(customer.page);
      await cdp.send("WebAuthn.enable");
      await cdp.send("WebAuthn.addVirtualAuthenticator", {
        options: {
          protocol: "ctap2",
          transport: "internal",
          hasResidentKey: true,
          hasUserVerification: true,
          isUserVerified: true,
          automaticPresenceSimulation: true,
        },
      });
    },
    { timeout: serverStartTimeoutMs + 90_000 },
  );

  after(async () => {
    await browser?.close().catch(() => {});
    killServer(server);
    provider?.child.kill("SIGTERM");
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    if (providerDir) await rm(providerDir, { recursive: true, force: true });
  });

  it("books a meeting that asks the customer to identify", { timeout: testTimeoutMs }, async () => {
    const page = adviser.page;
    await page.locator("table.sessions tbody tr").first().waitFor();
    await page.waitForLoadState("networkidle");
    await page.goto("/meetings");
    const create = page.getByRole("form", { name: "Boka ett möte" });
    const pad = (value) => String(value).padStart(2, "0");
    const local = (epochMs) => {
      const at = new Date(epochMs);
      return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
    };
    await create.getByLabel("Rubrik").fill("Identifierat samtal");
    await create.getByLabel("Börjar").fill(local(Date.now() - 2 * 60_000));
    await create.getByLabel("Slutar").fill(local(Date.now() + 60 * 60_000));
    await create.getByLabel("Låt kunden identifiera sig med e-legitimation").check();
    await create.getByRole("button", { name: "Boka mötet" }).click();
    const card = page.locator("li.meeting", { hasText: "Identifierat samtal" });
    await card.waitFor();
    assert.match(await card.locator(".meeting-facts").textContent(), /Identifiering\s*Krävs/);
    firstMeeting = new URL(await card.getByLabel("Länk till mötet").inputValue()).pathname.split("/").pop();
    await assertClean(page, adviser.problems);
  });

  it("takes the customer's e-ID as the proof, and the adviser sees it masked", { timeout: testTimeoutMs }, async () => {
    await toCredential(firstMeeting);
    const page = customer.page;
    assert.equal(await page.getByLabel("Mötets kod").count(), 0, "this meeting asks for no passcode");
    await page.getByRole("link", { name: "Identifiera dig med e-legitimation" }).click();
    await page.waitForURL((url) => url.origin === provider.issuer);
    await page.getByLabel("User name").fill("karin");
    await page.getByLabel("Password").fill("test-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    // Back on the join page, which hands the proof in by itself and goes on to the device check.
    await page.waitForURL((url) => url.origin === baseUrl && url.pathname === `/m/${firstMeeting}`);
    await deviceAndKnock("Karin");
    assert.equal(new URL(page.url()).search, "", "nothing of the round trip stays in the address");

    const seen = await knockSeenByAdviser(firstMeeting, "Karin");
    assert.match(seen, /Kontrollerat namn\s*Karin Kund/);
    assert.match(seen, /Personnummer\s*19811228-\*\*\*\*/);
    assert.ok(!seen.includes("9874"), "never the whole number");
    await assertClean(page, customer.problems);
    await assertClean(adviser.page, adviser.problems);
  });

  it("lets a returning customer identify with her passkey instead", { timeout: testTimeoutMs * 2 }, async () => {
    const page = customer.page;
    // Signed in by her e-ID a moment ago, she adds a passkey on her account page.
    await page.goto("/account");
    await page.getByRole("main").getByText("Inloggad som Karin Kund", { exact: true }).waitFor();
    await page.getByLabel("Namn på nyckeln").fill("Min telefon");
    await page.getByRole("button", { name: "Lägg till nyckel" }).click();
    await page.locator("ul.passkeys li[data-passkey]", { hasText: "Min telefon" }).waitFor();
    await page.getByRole("button", { name: "Logga ut", exact: true }).click();
    await page.getByLabel("E-postadress").waitFor();

    // A second meeting takes the passcode or an identity proof; she uses neither code nor e-ID.
    const second = await bookMeeting(adviser.page, { title: "Uppföljning", passcode, identityProof: true });

    await toCredential(second);
    await page.getByLabel("Mötets kod").waitFor();
    await page.getByRole("button", { name: "Använd din passkey" }).click();
    await deviceAndKnock("Karin K");

    const seen = await knockSeenByAdviser(second, "Karin K");
    assert.match(seen, /Kontrollerat namn\s*Karin Kund/);
    assert.match(seen, /Personnummer\s*19811228-\*\*\*\*/);
    await assertClean(page, customer.problems);
    await assertClean(adviser.page, adviser.problems);
  });

  it("leaves an intact audit trail", { timeout: testTimeoutMs }, async () => {
    await browser.close();
    assert.deepEqual(await stopServer(server), { code: 0, signal: null });
    const verify = await runTrygg(tryggBin(), ["audit", "verify", "--data-dir", dataDir, "--json"]);
    assert.equal(verify.code, 0, `audit verify failed\n${verify.stdout}\n${verify.stderr}`);
  });
});
