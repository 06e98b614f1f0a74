// A meeting from both sides, in two Chromium contexts against the real `trygg demo` server: an
// adviser books a meeting with a passcode; the customer opens the link, consents, gives a wrong
// and then the right passcode, passes the device check (fake camera and microphone) and knocks;
// the adviser opens the room, sees the knock with its risk signal, and the two exchange lobby
// messages; the adviser lets the customer in, allows screen sharing, and revokes it while the
// customer shares, which stops the capture; the adviser removes the customer, whose place is gone.
// Then: guessing a passcode locks the guesser out, a locked meeting takes no knocks, a link
// outside its time refuses, and the audit trail verifies after it all.
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

const admin = { email: "ada.admin@example.se", name: "Ada Admin" };
const password = "ett långt lösenord för mötestestet";
const adviserEmail = "rut.radgivare@example.se";
const passcode = "kanelbulle-42";

describe("a meeting in Chromium: join by link, lobby, admission and host controls", () => {
  let server;
  let browser;
  let dataDir;
  let baseUrl;
  let adviser;
  let customer;
  let meetingId;

  /** Books a meeting through the API as the adviser; returns its id. */
  async function book(page, { startsInMs = -60_000, lengthMs = 3_600_000, code = passcode } = {}) {
    const session = await (await page.request.get("/api/v1/session")).json();
    const now = Date.now();
    const response = await page.request.post("/api/v1/meetings", {
      headers: { "X-CSRF-Token": session.csrf_token },
      data: { title: "Bolånesamtal", starts_at_ms: now + startsInMs, ends_at_ms: now + startsInMs + lengthMs, passcode: code },
    });
    assert.equal(response.status(), 201, await response.text());
    return (await response.json()).id;
  }

  /** A customer's page at the link, through consent, to the passcode step. */
  async function toPasscode(context) {
    const watched = await openWatchedPage(context);
    await watched.page.goto(`/m/${meetingId}`);
    await watched.page.getByRole("heading", { name: "Integritet och samtycke" }).waitFor();
    await watched.page.getByLabel(/Genomföra mötet/).check();
    await watched.page.getByRole("button", { name: "Fortsätt" }).click();
    await watched.page.getByLabel("Mötets kod").waitFor();
    return watched;
  }

  before(
    async () => {
      const bin = tryggBin();
      dataDir = await mkdtemp(join(tmpdir(), "trygg-web-meeting-"));
      server = await startServer(bin, dataDir);
      const bootstrap = await bootstrapAdmin(bin, dataDir, admin);
      const url = new URL(server.baseUrl);
      url.hostname = "localhost";
      baseUrl = url.origin;
      browser = await launchBrowser({ media: true });

      // The administrator enrols and invites the adviser, who enrols too.
      const adminContext = await newContext(browser, baseUrl, "sv-SE");
      const adminPage = (await openWatchedPage(adminContext)).page;
      await adminPage.goto(`/enrol#${bootstrap.token}`);
      await enrol(adminPage, password);
      const adminSession = await (await adminPage.request.get("/api/v1/session")).json();
      const invited = await adminPage.request.post("/api/v1/accounts", {
        headers: { "X-CSRF-Token": adminSession.csrf_token },
        data: { email: adviserEmail, display_name: "Rut Rådgivare", roles: ["adviser"] },
      });
      assert.equal(invited.status(), 201, await invited.text());
      const { enrolment_path: enrolmentPath } = await invited.json();
      await adminContext.close();

      const adviserContext = await newContext(browser, baseUrl, "sv-SE");
      adviser = await openWatchedPage(adviserContext);
      await adviser.page.goto(enrolmentPath);
      await enrol(adviser.page, password);
      meetingId = await book(adviser.page);
      customer = await toPasscode(await newContext(browser, baseUrl, "sv-SE"));
    },
    { timeout: serverStartTimeoutMs + 90_000 },
  );

  after(async () => {
    await browser?.close().catch(() => {});
    killServer(server);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("takes the customer through passcode, device check and knock", { timeout: testTimeoutMs }, async () => {
    const page = customer.page;
    await page.getByLabel("Mötets kod").fill("fel-kod");
    await page.getByRole("button", { name: "Fortsätt" }).click();
    await page.getByRole("alert").getByText("Koden stämmer inte. Kontrollera den och försök igen.").waitFor();
    assert.equal(await page.getByLabel("Mötets kod").inputValue(), "", "the passcode is not kept");
    await page.getByLabel("Mötets kod").fill(passcode);
    await page.getByRole("button", { name: "Fortsätt" }).click();
    await page.locator("#device-result").getByText("Kameran och mikrofonen fungerar.").waitFor();
    await page.getByRole("button", { name: "Fortsätt" }).click();
    await page.getByLabel("Ditt namn").fill("Karin Kund");
    await page.getByRole("button", { name: "Knacka på" }).click();
    await page.locator("#waiting-status").getByText("Du väntar i väntrummet.", { exact: false }).waitFor();
  });

  it("shows the adviser the knock, and lobby messages go both ways", { timeout: testTimeoutMs }, async () => {
    const page = adviser.page;
    await page.goto(`/meetings/${meetingId}/room`);
    const knock = page.locator("article.knock");
    await knock.getByRole("heading", { name: "Karin Kund" }).waitFor();
    assert.match(await knock.locator("[data-risk]").textContent(), /^Förhöjd \(wrong_passcodes_in_meeting\)$/);
    assert.match(await knock.textContent(), /Chromium \d+, Linux/);
    await knock.getByLabel("Meddelande", { exact: true }).fill("Vad är ditt kundnummer?");
    await knock.getByRole("button", { name: "Skicka" }).click();
    await customer.page.locator("#lobby-chat").getByText("Vad är ditt kundnummer?").waitFor();
    await customer.page.getByLabel("Meddelande till rådgivaren").fill("4711");
    await customer.page.getByRole("button", { name: "Skicka" }).click();
    await knock.locator(".lobby-chat").getByText("4711").waitFor();
  });

  it("lets the customer in; a revoked screen share stops at once", { timeout: testTimeoutMs }, async () => {
    const page = adviser.page;
    await page.locator("article.knock").getByRole("button", { name: "Släpp in" }).click();
    const customerPage = customer.page;
    await customerPage.locator(".room").waitFor();
    const karinOnHost = page.locator(".people li", { hasText: "Karin Kund" });
    await karinOnHost.waitFor();
    await customerPage.locator(".people li", { hasText: "Rut Rådgivare" }).waitFor();

    await karinOnHost.getByRole("button", { name: "Tillåt skärmdelning" }).click();
    await customerPage.getByRole("button", { name: "Dela skärm" }).click();
    await page.locator('.people li[data-sharing="true"]', { hasText: "Karin Kund" }).waitFor();
    assert.equal(await customerPage.locator("video.share-preview").isVisible(), true);
    const track = await customerPage.evaluate(() => {
      const video = document.querySelector("video.share-preview");
      const stream = video?.srcObject;
      const found = stream instanceof MediaStream ? stream.getVideoTracks()[0] : undefined;
      window.__sharedTrack = found;
      return found?.readyState;
    });
    assert.equal(track, "live");

    await karinOnHost.getByRole("button", { name: "Ta bort skärmdelning" }).click();
    await customerPage.waitForFunction(() => window.__sharedTrack?.readyState === "ended");
    await customerPage.locator("video.share-preview").waitFor({ state: "hidden" });
    await page.locator('.people li[data-sharing="false"][data-share-allowed="false"]', { hasText: "Karin Kund" }).waitFor();
  });

  it("removes the customer, whose place is gone", { timeout: testTimeoutMs }, async () => {
    await adviser.page.locator(".people li", { hasText: "Karin Kund" }).getByRole("button", { name: "Ta bort från mötet" }).click();
    await customer.page.getByText("Du har tagits bort från mötet.").waitFor();
    await adviser.page.locator(".people li", { hasText: "Karin Kund" }).waitFor({ state: "detached" });
    // Back at the link she starts over as someone new, who must knock and be let in again.
    await customer.page.goto(`/m/${meetingId}`);
    await customer.page.getByRole("heading", { name: "Integritet och samtycke" }).waitFor();
    assert.equal(await customer.page.locator(".room").count(), 0);
    await assertClean(customer.page, customer.problems);
    await assertClean(adviser.page, adviser.problems);
  });

  it("locks out a passcode guesser, and a locked meeting takes no knocks", { timeout: testTimeoutMs }, async () => {
    const guesser = await toPasscode(await newContext(browser, baseUrl, "sv-SE"));
    for (let attempt = 0; attempt < 5; attempt += 1) {
      await guesser.page.getByLabel("Mötets kod").fill(`gissning-${attempt}`);
      await guesser.page.getByRole("button", { name: "Fortsätt" }).click();
      await guesser.page.locator("#join-error p").nth(0).waitFor();
    }
    await guesser.page.getByLabel("Mötets kod").fill(passcode);
    await guesser.page.getByRole("button", { name: "Fortsätt" }).click();
    await guesser.page.getByRole("alert").getByText("För många felaktiga koder.", { exact: false }).waitFor();
    assert.equal(await guesser.page.getByLabel("Ditt namn").count(), 0, "not even the right code gets through now");

    await adviser.page.getByRole("button", { name: "Lås mötet" }).click();
    await adviser.page.locator('.lock-state[data-locked="true"]').waitFor();
    const late = await openWatchedPage(await newContext(browser, baseUrl, "sv-SE"));
    await late.page.goto(`/m/${meetingId}`);
    await late.page.getByText("Mötet är låst och tar inte emot fler. Kontakta din rådgivare.").waitFor();
    await assertClean(late.page, late.problems, [`403 POST /api/v1/meetings/${meetingId}/join`]);
  });

  it("refuses a link outside its time", { timeout: testTimeoutMs }, async () => {
    const tomorrow = await book(adviser.page, { startsInMs: 24 * 3_600_000 });
    const early = await openWatchedPage(await newContext(browser, baseUrl, "sv-SE"));
    await early.page.goto(`/m/${tomorrow}`);
    await early.page.getByText("Länken gäller inte just nu. Kontrollera tiden i din inbjudan.").waitFor();
    await assertClean(early.page, early.problems, [`403 POST /api/v1/meetings/${tomorrow}/join`]);
  });

  it("leaves an intact audit trail", { timeout: testTimeoutMs }, async () => {
    await browser.close();
    assert.deepEqual(await stopServer(server), { code: 0, signal: null });
    const verify = await runTrygg(tryggBin(), ["audit", "verify", "--data-dir", dataDir, "--json"]);
    assert.equal(verify.code, 0, `audit verify failed\n${verify.stdout}\n${verify.stderr}`);
  });
});
