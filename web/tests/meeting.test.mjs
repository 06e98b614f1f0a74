// A meeting from both sides, in two Chromium contexts against the real `trygg demo` server and a
// real SMTP server (aiosmtpd, see support.mjs): an adviser books a meeting with a passcode on the
// dashboard and invites the customer by e-mail; the customer opens the link from the e-mail that
// arrived at the SMTP server, consents, gives a wrong
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
  bookMeeting,
  bootstrapAdmin,
  delay,
  receivedMail,
  sinkPython,
  startSink,
  enrolAdviser,
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
  let sink;
  let mailDir;

  /** A customer's page at `link` (the meeting's by default), through consent, to the passcode. */
  async function toPasscode(context, link = `/m/${meetingId}`) {
    const watched = await openWatchedPage(context);
    await watched.page.goto(link);
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
      mailDir = await mkdtemp(join(tmpdir(), "trygg-web-meeting-mail-"));
      sink = await startSink(sinkPython(bin), mailDir);
      server = await startServer(bin, dataDir, {
        env: {
          TRYGG_SMTP__HOST: "127.0.0.1",
          TRYGG_SMTP__PORT: String(sink.port),
          TRYGG_SMTP__TLS: "none",
          TRYGG_SMTP__FROM: "moten@exempelbanken.se",
        },
      });
      const bootstrap = await bootstrapAdmin(bin, dataDir, admin);
      const url = new URL(server.baseUrl);
      url.hostname = "localhost";
      baseUrl = url.origin;
      browser = await launchBrowser({ media: true });

      // The administrator enrols and invites the adviser, who enrols too.
      adviser = await enrolAdviser(browser, baseUrl, bootstrap, { email: adviserEmail, name: "Rut Rådgivare", password });
    },
    { timeout: serverStartTimeoutMs + 90_000 },
  );

  after(async () => {
    await browser?.close().catch(() => {});
    killServer(server);
    sink?.child.kill();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    if (mailDir) await rm(mailDir, { recursive: true, force: true });
  });

  it("books the meeting on the dashboard and invites the customer by e-mail", { timeout: testTimeoutMs }, async () => {
    const page = adviser.page;
    // The account page the enrolment ended on finishes loading before the adviser moves on.
    await page.locator("table.sessions tbody tr").first().waitFor();
    await page.waitForLoadState("networkidle");
    await page.goto("/meetings");
    const create = page.getByRole("form", { name: "Boka ett möte" });
    const pad = (value) => String(value).padStart(2, "0");
    const local = (epochMs) => {
      const at = new Date(epochMs);
      return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
    };
    await create.getByLabel("Rubrik").fill("Bolånesamtal");
    await create.getByLabel("Börjar").fill(local(Date.now() - 2 * 60_000));
    await create.getByLabel("Slutar").fill(local(Date.now() + 60 * 60_000));
    await create.getByLabel("Kod (valfri)").fill(passcode);
    await create.getByRole("button", { name: "Boka mötet" }).click();
    const card = page.locator("li.meeting", { hasText: "Bolånesamtal" });
    await card.waitFor();
    const link = await card.getByLabel("Länk till mötet").inputValue();
    meetingId = new URL(link).pathname.split("/").pop();

    await card.getByRole("button", { name: "Bjud in via e-post" }).click();
    await card.getByLabel("Kundens e-postadress").fill("karin.kund@example.se");
    await card.getByRole("button", { name: "Skicka inbjudan" }).click();
    let mail = [];
    for (let tries = 0; tries < 100 && mail.length === 0; tries += 1) {
      mail = await receivedMail(mailDir);
      if (mail.length === 0) await delay(100);
    }
    assert.equal(mail.length, 1, "the invitation arrived at the SMTP server");
    const mailed = /https:\/\/\S+\/m\/[0-9a-f]{32}/.exec(mail[0].summary.text)?.[0];
    assert.equal(mailed, link, "the mail carries the meeting's link");
    assert.ok(!mail[0].raw.includes("Bolånesamtal"), "and nothing of what the meeting is about");

    // The customer opens the link from the e-mail.
    customer = await toPasscode(await newContext(browser, baseUrl, "sv-SE"), new URL(mailed).pathname);
    await assertClean(page, adviser.problems);
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
    await page.locator("li.meeting", { hasText: "Bolånesamtal" }).getByRole("link", { name: "Öppna mötesrummet" }).click();
    await page.waitForURL(new RegExp(`/meetings/${meetingId}/room$`));
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
    const tomorrow = await bookMeeting(adviser.page, { passcode, startsInMs: 24 * 3_600_000 });
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
