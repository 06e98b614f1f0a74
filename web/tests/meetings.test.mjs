// The adviser's dashboard in a real browser (Debian's Chromium, driven by playwright-core) against
// the real `trygg demo` server, with a real SMTP server beside it: aiosmtpd from
// web/tests/smtp-sink.py, installed by `cargo xtask test` (or `cargo xtask smtp-sink`) into a
// virtualenv beside the build output, and reached in plain text on loopback (`[smtp] tls =
// "none"`, which Trygg allows only to a loopback host; the Rust tests cover STARTTLS).
//
// Ada, the first administrator, enrols and invites Dag as an adviser through the API; Dag enrols
// in his own browser, finds "Möten" in the menu, books a meeting with a passcode (shown and hidden
// again), copies its link, invites kund@example.se by e-mail and cancels it after a question.
// The e-mail arrives at the SMTP server with the link and the time, and without the title or the
// passcode. Like the other tests it fails on any CSP violation, console error or warning, page
// error, failed request or error response.
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
  receivedMail,
  sinkPython,
  startSink,
  delay,
  enrol,
  killServer,
  launchBrowser,
  newContext,
  openWatchedPage,
  serverStartTimeoutMs,
  startServer,
  testTimeoutMs,
  tryggBin,
} from "./support.mjs";

const ada = { email: "ada.admin@example.se", name: "Ada Admin", password: "ett långt och hemligt lösenord 2026" };
const dag = { email: "dag.dahl@example.se", name: "Dag Dahl", password: "Dags egen mening om höstens äpplen" };
const customer = "kund@example.se";
const title = "Bolånesamtal med Karin";
const passcode = "kanelbulle-42";

/** `YYYY-MM-DDTHH:MM` in local time, as a datetime-local input takes it. */
function localInput(epochMs) {
  const at = new Date(epochMs);
  const pad = (value) => String(value).padStart(2, "0");
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

describe("the adviser's meetings dashboard in Chromium against `trygg demo` and a real SMTP server", () => {
  let server;
  let sink;
  let browser;
  let dataDir;
  let mailDir;
  let page;
  let problems;
  let meetingLink;

  before(
    async () => {
      const bin = tryggBin();
      dataDir = await mkdtemp(join(tmpdir(), "trygg-web-meetings-"));
      mailDir = await mkdtemp(join(tmpdir(), "trygg-web-mail-"));
      sink = await startSink(sinkPython(bin), mailDir);
      server = await startServer(bin, dataDir, {
        env: {
          TRYGG_SMTP__HOST: "127.0.0.1",
          TRYGG_SMTP__PORT: String(sink.port),
          TRYGG_SMTP__TLS: "none",
          TRYGG_SMTP__FROM: "moten@exempelbanken.se",
        },
      });
      const bootstrap = await bootstrapAdmin(bin, dataDir, ada);
      browser = await launchBrowser();

      // Ada enrols and invites Dag as an adviser through the API.
      const adminContext = await newContext(browser, server.baseUrl, "sv-SE");
      const admin = await openWatchedPage(adminContext);
      await admin.page.goto(`/enrol#${bootstrap.token}`);
      await enrol(admin.page, ada.password);
      const invited = await admin.page.evaluate(async (person) => {
        const session = await (await fetch("/api/v1/session")).json();
        const response = await fetch("/api/v1/accounts", {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": session.csrf_token },
          body: JSON.stringify({ email: person.email, display_name: person.name, roles: ["adviser"] }),
        });
        return { status: response.status, body: await response.json() };
      }, dag);
      assert.equal(invited.status, 201, JSON.stringify(invited.body));
      await assertClean(admin.page, admin.problems);
      await adminContext.close();

      const context = await newContext(browser, server.baseUrl, "sv-SE");
      await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.baseUrl });
      ({ page, problems } = await openWatchedPage(context));
      await page.goto(invited.body.enrolment_path);
      await enrol(page, dag.password);
    },
    { timeout: serverStartTimeoutMs + 60_000 },
  );

  after(async () => {
    await browser?.close().catch(() => {});
    killServer(server);
    sink?.child.kill();
    for (const dir of [dataDir, mailDir]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("Dag finds his meetings in the menu and on his account page", { timeout: testTimeoutMs }, async () => {
    assert.equal(await page.evaluate(() => localStorage.getItem("trygg.signedIn")), "adviser");
    await page.getByRole("main").getByRole("link", { name: "Till mina möten" }).waitFor();
    const menuLink = page.getByRole("navigation").getByRole("link", { name: "Möten", exact: true });
    await menuLink.click();
    await page.waitForURL(`${server.baseUrl}/meetings`);
    assert.equal(await page.locator("h1").textContent(), "Mina möten");
    assert.equal(await page.title(), "Mina möten – Trygg");
    assert.equal(await menuLink.getAttribute("aria-current"), "page");
    assert.equal(await page.evaluate(() => document.activeElement?.tagName), "H1");
    await page.getByText("Du har inga möten ännu. Boka ett ovan.", { exact: true }).waitFor();
    await assertClean(page, problems);
  });

  it("books a meeting, copies its link, invites the customer and cancels it", { timeout: testTimeoutMs * 2 }, async () => {
    const create = page.getByRole("form", { name: "Boka ett möte" });
    const createAlert = page.locator("#create-error");

    // Nothing filled in: refused in the page, focus on the field to fix.
    await create.getByRole("button", { name: "Boka mötet" }).click();
    await createAlert.getByText("Skriv en rubrik för mötet.", { exact: true }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), "create-title");

    const start = Date.now() + 60 * 60_000;
    await create.getByLabel("Rubrik").fill(title);
    await create.getByLabel("Börjar").fill(localInput(start));
    await create.getByLabel("Slutar").fill(localInput(start + 45 * 60_000));
    const code = create.getByLabel("Kod (valfri)");
    await code.fill(passcode);
    assert.equal(await code.getAttribute("type"), "password");
    await create.getByRole("button", { name: "Visa kod" }).click();
    assert.equal(await code.getAttribute("type"), "text");
    await create.getByRole("button", { name: "Dölj kod" }).click();
    assert.equal(await code.getAttribute("type"), "password");
    await create.getByRole("button", { name: "Boka mötet" }).click();

    const status = page.getByTestId("meetings-status");
    await status.getByText(`Mötet ”${title}” är bokat.`, { exact: true }).waitFor();
    assert.equal(await createAlert.textContent(), "");
    assert.equal(await create.getByLabel("Rubrik").inputValue(), "", "the form is empty for the next meeting");
    const card = page.locator("li.meeting", { hasText: title });
    await card.waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.tagName), "H3", "focus moves to the new meeting");
    await card.getByText("Bokat", { exact: true }).waitFor();
    await card.locator("dd", { hasText: "Ja" }).waitFor();

    // Copy the link: the clipboard holds it, and the page says so.
    meetingLink = await card.getByLabel("Länk till mötet").inputValue();
    assert.match(meetingLink, new RegExp(`^${server.baseUrl.replace(/\./g, "\\.")}/m/[0-9a-f]{32}$`));
    await card.getByRole("button", { name: "Kopiera länken" }).click();
    await card.getByRole("status").getByText("Länken är kopierad.", { exact: true }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), meetingLink);

    // Invite the customer by e-mail.
    await card.getByRole("button", { name: "Bjud in via e-post" }).click();
    const email = card.getByLabel("Kundens e-postadress");
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("type")), "email", "focus in the address field");
    await email.fill(customer);
    await card.getByRole("button", { name: "Skicka inbjudan" }).click();
    await status.getByText(`Inbjudan är skickad till ${customer}.`, { exact: true }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Bjud in via e-post", "focus returns");

    // The mail is at the SMTP server: the link and the warnings, neither title nor passcode.
    let mail = [];
    for (let tries = 0; tries < 100 && mail.length === 0; tries += 1) {
      mail = await receivedMail(mailDir);
      if (mail.length === 0) await delay(100);
    }
    assert.equal(mail.length, 1, "one message arrived");
    const [{ raw, summary }] = mail;
    assert.deepEqual(summary.rcpt_tos, [customer]);
    assert.ok(summary.text.includes(meetingLink), `the link is in the mail:\n${summary.text}`);
    assert.ok(summary.text.includes("Dela aldrig länken"));
    assert.ok(summary.text.includes("Never share the link"));
    for (const secret of ["Bolån", "Karin", passcode]) {
      for (const [what, haystack] of [["text", summary.text], ["subject", summary.subject], ["raw", raw]]) {
        assert.ok(!haystack.includes(secret), `the ${what} of the mail mentions ${secret}`);
      }
    }

    // Cancel, after a question that Escape closes.
    await card.getByRole("button", { name: "Avboka" }).click();
    const question = card.getByText(`Avboka ”${title}”? Länken slutar fungera direkt, och det går inte att ångra.`);
    await question.waitFor();
    await page.keyboard.press("Escape");
    await question.waitFor({ state: "hidden" });
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Avboka", "focus returns to the button");
    await card.getByRole("button", { name: "Avboka" }).click();
    await card.getByRole("button", { name: "Ja, avboka mötet" }).click();
    await status.getByText(`”${title}” är avbokat. Länken fungerar inte längre.`, { exact: true }).waitFor();
    await card.getByText("Avbokat", { exact: true }).waitFor();
    assert.equal(await card.getByRole("button", { name: "Bjud in via e-post" }).count(), 0, "no actions on a cancelled meeting");

    await assertClean(page, problems);
  });

  it("speaks English too", { timeout: testTimeoutMs }, async () => {
    await page.getByRole("button", { name: "English" }).click();
    assert.equal(await page.locator("h1").textContent(), "My meetings");
    await page.getByRole("form", { name: "Book a meeting" }).getByLabel("Title").waitFor();
    await page.locator("li.meeting", { hasText: title }).getByText("Cancelled", { exact: true }).waitFor();
    await assertClean(page, problems);
  });
});
