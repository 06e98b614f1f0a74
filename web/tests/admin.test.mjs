// Account administration in a real browser (Debian's Chromium, driven by playwright-core) against
// the real `trygg demo` server, started so that sensitive actions need a second factor from the
// last 3 seconds (TRYGG_SESSIONS__STEP_UP_MAX_AGE_SECS=3). The test waits 4 s before each
// sensitive action, so every one of them meets the step-up dialog: deterministic, not lucky.
//
// Ada, the first administrator, enrols from the bootstrap link, finds "Administration" in the
// menu, and invites Bo (Escape first cancels the step-up; a replayed code is refused in the
// dialog; the next TOTP step's code is accepted and the invitation goes through by itself). Bo
// enrols in a second browser and has no administration. Ada then changes Bo's roles, ends his
// sessions, resets his second factor and disables him, confirming with recovery codes; after
// each, Bo's next request lands on the sign-in page, and in the end his password is refused.
// Like the other tests it fails on any CSP violation, console error or warning, page error or
// failed request; the only error responses allowed are the ones the test provokes, each named.
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
  base32Decode,
  bootstrapAdmin,
  delay,
  enrol,
  killServer,
  launchBrowser,
  newContext,
  openWatchedPage,
  serverStartTimeoutMs,
  shutdownTimeoutMs,
  startServer,
  stopServer,
  testTimeoutMs,
  totp,
  tryggBin,
} from "./support.mjs";

const ada = { email: "ada.admin@example.se", name: "Ada Admin", password: "ett långt och hemligt lösenord 2026" };
const bo = { email: "bo.berg@example.se", name: "Bo Berg", password: "Bos egen mening om sommarens båtar" };
/** How recent a second factor the server is told to require for sensitive actions. */
const stepUpMaxAgeSecs = 3;
/** Long enough for Ada's second factor to be too old for a sensitive action again. */
const stepUpExpiryMs = (stepUpMaxAgeSecs + 1) * 1000;

// The failures the test provokes, as the server must answer them.
const stepUpRequired = (method, path) => `403 ${method} ${path}`;
const refusedStepUp = "401 POST /api/v1/session/step-up";
const notSignedIn = "401 GET /api/v1/session";
const noAccess = "403 GET /api/v1/accounts";
const wrongPassword = "401 POST /api/v1/session/password";

const text = {
  sv: {
    noAccess: "Du har inte behörighet till den här sidan.",
    inviteEmailMissing: "Skriv personens e-postadress.",
    stepUpCancelled:
      "Ingenting ändrades, eftersom ändringen inte bekräftades med en kod. Försök igen när du har autentiseringsappen till hands.",
    invalidCode: "Koden är fel eller har redan använts. Vänta på nästa kod och försök igen.",
    invalidCredentials: "E-postadressen eller lösenordet stämmer inte. Kontrollera dem och försök igen.",
  },
};

describe("account administration with step-up in Chromium against `trygg demo`", () => {
  /** @type {Awaited<ReturnType<typeof startServer>> | undefined} */
  let server;
  /** @type {import("playwright-core").Browser | undefined} */
  let browser;
  /** Ada's page, and Bo's in a browser context of his own. */
  let page;
  let problems;
  let boPage;
  let boProblems;
  let dataDir;
  /** Error responses provoked on each page so far, in order. */
  const provoked = [];
  const boProvoked = [];
  let bootstrap;
  /** What Ada's enrolment gave her: the TOTP secret, the code she typed, her recovery codes. */
  let adaEnrolment;
  /** Bo's latest enrolment, and his account id. */
  let boEnrolment;
  let boId;
  /** The enrolment link Ada passes on to Bo. */
  let boLink;

  before(
    async () => {
      const bin = tryggBin();
      dataDir = await mkdtemp(join(tmpdir(), "trygg-web-admin-"));
      server = await startServer(bin, dataDir, {
        env: { TRYGG_SESSIONS__STEP_UP_MAX_AGE_SECS: String(stepUpMaxAgeSecs) },
      });
      bootstrap = await bootstrapAdmin(bin, dataDir, ada);
      browser = await launchBrowser();
      const context = await newContext(browser, server.baseUrl, "sv-SE");
      // The Copy button writes to the clipboard; the test reads it back.
      await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.baseUrl });
      ({ page, problems } = await openWatchedPage(context));
      const boContext = await newContext(browser, server.baseUrl, "sv-SE");
      ({ page: boPage, problems: boProblems } = await openWatchedPage(boContext));
    },
    { timeout: serverStartTimeoutMs + 30_000 },
  );

  after(async () => {
    await browser?.close().catch(() => {});
    killServer(server);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("Ada enrols and finds Administration in the menu, her own row without actions", { timeout: testTimeoutMs }, async () => {
    await page.goto(`/enrol#${bootstrap.token}`);
    adaEnrolment = await enrol(page, ada.password);
    assert.ok(adaEnrolment.recoveryCodes.length >= 3, "enough recovery codes for three step-ups");
    // The menu's hint says "administrator", and nothing more.
    assert.equal(await page.evaluate(() => localStorage.getItem("trygg.signedIn")), "admin");

    const nav = page.getByRole("navigation");
    const adminLink = nav.getByRole("link", { name: "Administration" });
    await adminLink.click();
    await page.waitForURL(`${server.baseUrl}/admin`);
    assert.equal(await page.locator("h1").textContent(), "Administration");
    assert.equal(await page.title(), "Administration – Trygg");
    assert.equal(await adminLink.getAttribute("aria-current"), "page");
    assert.equal(await page.evaluate(() => document.activeElement?.tagName), "H1", "focus moves to the new page's heading");

    // The list: Ada only, marked as herself, every action switched off and the reason given.
    const rows = page.locator("table.accounts tbody tr");
    await rows.first().waitFor();
    assert.equal(await rows.count(), 1);
    const own = rows.first();
    assert.equal(await own.getAttribute("data-own"), "true");
    await own.getByText(ada.email, { exact: true }).waitFor();
    await own.getByText("Du", { exact: true }).waitFor();
    await own.getByText("Administratör", { exact: true }).waitFor();
    await own.getByText("Aktivt", { exact: true }).waitFor();
    await own.getByText("Ditt eget konto ändras av en annan administratör.").waitFor();
    for (const name of ["Ändra roller", "Avsluta inloggningar", "Återställ andra faktorn", "Stäng av"]) {
      assert.equal(await own.getByRole("button", { name, exact: true }).isDisabled(), true, `${name} is off for her own account`);
    }
    // All six roles are offered, each with its Swedish name.
    const invite = page.getByRole("form", { name: "Bjud in personal" });
    for (const role of ["Administratör", "Säkerhetsansvarig", "Dataskyddsombud", "Arbetsledare", "Rådgivare", "Granskare"]) {
      assert.equal(await invite.getByRole("checkbox", { name: role, exact: true }).isChecked(), false, role);
    }

    await assertClean(page, problems, provoked);
  });

  it("invites Bo: the step-up dialog opens, Escape cancels, a replayed code is refused, the next one works", { timeout: testTimeoutMs }, async () => {
    const invite = page.getByRole("form", { name: "Bjud in personal" });
    const email = invite.getByLabel("E-postadress");
    const submit = invite.getByRole("button", { name: "Bjud in" });
    const inviteAlert = page.locator("#invite-error");

    // Nothing filled in: refused before anything is sent, and focus goes to the field to fix.
    await submit.click();
    await inviteAlert.getByText(text.sv.inviteEmailMissing, { exact: true }).waitFor();
    assert.equal(await inviteAlert.getAttribute("role"), "alert");
    assert.equal(await email.getAttribute("aria-invalid"), "true");
    assert.match(await email.getAttribute("aria-describedby"), /\binvite-error\b/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), "invite-email");

    await email.fill(bo.email);
    await invite.getByLabel("Namn", { exact: true }).fill(bo.name);
    await invite.getByRole("checkbox", { name: "Rådgivare", exact: true }).check();
    // Ada's second factor (from her enrolment) is now too old for an invitation.
    await delay(stepUpExpiryMs);

    await submit.click();
    provoked.push(stepUpRequired("POST", "/api/v1/accounts"));
    const dialog = page.getByRole("dialog", { name: "Bekräfta att det är du" });
    await dialog.waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), "step-up-code", "focus is in the code field");
    assert.equal(await page.evaluate(() => document.querySelector("dialog")?.matches(":modal")), true, "the dialog is modal");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    await inviteAlert.getByText(text.sv.stepUpCancelled, { exact: true }).waitFor();
    assert.equal(await email.inputValue(), bo.email, "what Ada typed is still there");
    assert.equal(await submit.isEnabled(), true);

    await submit.click();
    provoked.push(stepUpRequired("POST", "/api/v1/accounts"));
    await dialog.waitFor();
    const code = dialog.getByLabel("Engångskod");
    assert.equal(await code.getAttribute("autocomplete"), "one-time-code");
    // The code Ada typed at enrolment is used up: the dialog says so and stays open.
    await code.fill(adaEnrolment.code);
    await dialog.getByRole("button", { name: "Bekräfta" }).click();
    provoked.push(refusedStepUp);
    await dialog.getByRole("alert").getByText(text.sv.invalidCode, { exact: true }).waitFor();
    assert.equal(await code.getAttribute("aria-invalid"), "true");
    assert.match(await code.getAttribute("aria-describedby"), /\bstep-up-error\b/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), "step-up-code");

    // The app's next code (the server accepts one step of drift); the invitation is sent again
    // by itself and the link appears.
    await code.fill(totp(base32Decode(adaEnrolment.secret), Date.now() + 30_000));
    await dialog.getByRole("button", { name: "Bekräfta" }).click();
    await dialog.waitFor({ state: "hidden" });
    const panel = page.getByRole("region", { name: `Aktiveringslänk för ${bo.name}` });
    await panel.waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), "link-heading", "focus moves to the link");
    await panel.getByText(`${bo.name} (${bo.email}) är inbjuden.`, { exact: true }).waitFor();
    const linkField = panel.getByLabel("Aktiveringslänk");
    assert.equal(await linkField.getAttribute("readonly"), "");
    boLink = await linkField.inputValue();
    assert.match(boLink, new RegExp(`^${server.baseUrl.replace(/\./g, "\\.")}/enrol#[^#\\s]{16,}$`));
    await panel.getByText(/^Länken fungerar en enda gång och bara i 15 minuter, till .+\.$/).waitFor();
    await panel.getByText(`Skicka den till ${bo.name} på ett säkert sätt`, { exact: false }).waitFor();

    await panel.getByRole("button", { name: "Kopiera" }).click();
    await panel.getByRole("status").getByText("Länken är kopierad.", { exact: true }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), boLink);

    // The form is empty for the next invitation, and Bo is in the list, invited.
    assert.equal(await email.inputValue(), "");
    assert.equal(await inviteAlert.textContent(), "", "the earlier error is gone");
    const boRow = page.locator("table.accounts tbody tr", { hasText: bo.email });
    await boRow.getByText("Inbjuden, inte aktiverat", { exact: true }).waitFor();
    await boRow.getByText("Rådgivare", { exact: true }).waitFor();
    boId = await boRow.getAttribute("data-account-id");
    assert.ok(boId, "the row names its account");

    await assertClean(page, problems, provoked);
  });

  it("Bo enrols from the link in his own browser, and has no administration", { timeout: testTimeoutMs }, async () => {
    await boPage.goto(boLink);
    boEnrolment = await enrol(boPage, bo.password);
    assert.notEqual(boEnrolment.secret, adaEnrolment.secret, "Bo has a secret of his own");
    const main = boPage.getByRole("main");
    await main.getByText(`Inloggad som ${bo.name} (${bo.email})`, { exact: true }).waitFor();
    assert.equal(await main.locator(".facts dd").textContent(), "Rådgivare");
    assert.equal(await boPage.evaluate(() => localStorage.getItem("trygg.signedIn")), "adviser");
    assert.equal(await boPage.getByRole("navigation").getByRole("link", { name: "Administration" }).count(), 0);

    // Typing the address does not help: the server refuses, and the page says so plainly.
    await boPage.goto("/admin");
    boProvoked.push(noAccess);
    await boPage.getByTestId("no-access").getByText(text.sv.noAccess, { exact: true }).waitFor();
    assert.equal(await boPage.locator("h1").textContent(), "Administration");
    assert.equal(await boPage.getByRole("main").getByRole("alert").count(), 0, "no error dump");
    assert.equal(await boPage.locator("table").count(), 0);
    await boPage.getByRole("main").getByRole("link", { name: "Till mitt konto" }).waitFor();
    assert.equal(await boPage.getByRole("navigation").getByRole("link", { name: "Administration" }).count(), 0);

    // Ada sees him active.
    await page.reload();
    const boRow = page.locator("table.accounts tbody tr", { hasText: bo.email });
    await boRow.getByText("Aktivt", { exact: true }).waitFor();

    await assertClean(boPage, boProblems, boProvoked);
    await assertClean(page, problems, provoked);
  });

  it("changes Bo's roles after a step-up with a recovery code, which signs him out", { timeout: testTimeoutMs }, async () => {
    const boRow = page.locator("table.accounts tbody tr", { hasText: bo.email });
    await delay(stepUpExpiryMs);
    const change = boRow.getByRole("button", { name: "Ändra roller" });
    await change.click();
    assert.equal(await change.getAttribute("aria-expanded"), "true");
    const editor = boRow.getByRole("group", { name: `Roller för ${bo.name}` });
    await editor.waitFor();
    assert.equal(await editor.getByRole("checkbox", { name: "Rådgivare" }).isChecked(), true);
    assert.equal(
      await page.evaluate(() => document.activeElement?.getAttribute("type")),
      "checkbox",
      "focus moves into the editor",
    );
    await editor.getByRole("checkbox", { name: "Granskare" }).check();
    await boRow.getByRole("button", { name: "Spara roller" }).click();
    provoked.push(stepUpRequired("PUT", `/api/v1/accounts/${boId}/roles`));
    await confirmWithRecoveryCode(page, adaEnrolment.recoveryCodes[0]);

    await page
      .getByTestId("accounts-status")
      .getByText(`Rollerna för ${bo.name} är ändrade. ${bo.name} har loggats ut och får de nya rollerna vid nästa inloggning.`)
      .waitFor();
    await boRow.getByText("Rådgivare, Granskare", { exact: true }).waitFor();
    assert.equal(await editor.count(), 0, "the editor is closed");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Ändra roller", "focus returns to the button");

    // Bo's next request finds his session gone; signed in again, he has the new roles.
    await expectSignedOut(boPage);
    boProvoked.push(notSignedIn);
    await signInWithRecoveryCode(boPage, bo, boEnrolment.recoveryCodes[0]);
    assert.equal(await boPage.getByRole("main").locator(".facts dd").textContent(), "Rådgivare, Granskare");

    await assertClean(boPage, boProblems, boProvoked);
    await assertClean(page, problems, provoked);
  });

  it("ends Bo's sessions (no step-up needed for that)", { timeout: testTimeoutMs }, async () => {
    const boRow = page.locator("table.accounts tbody tr", { hasText: bo.email });
    await boRow.getByRole("button", { name: "Avsluta inloggningar" }).click();
    await page.getByTestId("accounts-status").getByText(`Avslutade inloggningar för ${bo.name}: 1.`, { exact: true }).waitFor();

    await expectSignedOut(boPage);
    boProvoked.push(notSignedIn);
    await signInWithRecoveryCode(boPage, bo, boEnrolment.recoveryCodes[1]);

    await assertClean(boPage, boProblems, boProvoked);
    await assertClean(page, problems, provoked);
  });

  it("resets Bo's second factor after a confirmation and a step-up; Bo enrols again", { timeout: testTimeoutMs }, async () => {
    const boRow = page.locator("table.accounts tbody tr", { hasText: bo.email });
    await delay(stepUpExpiryMs);
    await boRow.getByRole("button", { name: "Återställ andra faktorn" }).click();
    const question = boRow.getByRole("group", { name: new RegExp(`^Återställa den andra faktorn för ${bo.name}\\?`) });
    await question.waitFor();
    assert.match(await page.evaluate(() => document.activeElement?.id), /^account-\d+-question$/, "focus is on the question");
    // Cancel first: nothing happens, and focus returns to the button.
    await question.getByRole("button", { name: "Avbryt" }).click();
    assert.equal(await question.count(), 0);
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Återställ andra faktorn");

    await boRow.getByRole("button", { name: "Återställ andra faktorn" }).click();
    await question.getByRole("button", { name: "Ja, återställ" }).click();
    provoked.push(stepUpRequired("POST", `/api/v1/accounts/${boId}/reset-mfa`));
    await confirmWithRecoveryCode(page, adaEnrolment.recoveryCodes[1]);

    const panel = page.getByRole("region", { name: `Aktiveringslänk för ${bo.name}` });
    await panel.getByText(/^Den andra faktorn för Bo Berg är borttagen\./).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), "link-heading");
    const newLink = await panel.getByLabel("Aktiveringslänk").inputValue();
    assert.notEqual(newLink, boLink, "a new link");
    await boRow.getByText("Inbjuden, inte aktiverat", { exact: true }).waitFor();

    // Bo is signed out, and sets up his account again with a new secret.
    await expectSignedOut(boPage);
    boProvoked.push(notSignedIn);
    await boPage.goto(newLink);
    const previous = boEnrolment;
    boEnrolment = await enrol(boPage, bo.password);
    assert.notEqual(boEnrolment.secret, previous.secret, "a new secret");

    // Once passed on, the link can go.
    await panel.getByRole("button", { name: "Dölj länken" }).click();
    assert.equal(await panel.count(), 0, "the link is gone from the page");
    assert.equal(await page.getByTestId("enrolment-link").inputValue(), "");

    await assertClean(boPage, boProblems, boProvoked);
    await assertClean(page, problems, provoked);
  });

  it("disables Bo after a confirmation and a step-up; he is signed out and cannot sign in", { timeout: testTimeoutMs }, async () => {
    await page.reload();
    const boRow = page.locator("table.accounts tbody tr", { hasText: bo.email });
    await boRow.getByText("Aktivt", { exact: true }).waitFor();
    await delay(stepUpExpiryMs);
    await boRow.getByRole("button", { name: "Stäng av", exact: true }).click();
    const question = boRow.getByRole("group", { name: new RegExp(`^Stänga av kontot för ${bo.name}\\?`) });
    await question.waitFor();
    await question.getByRole("button", { name: "Ja, stäng av kontot" }).click();
    provoked.push(stepUpRequired("POST", `/api/v1/accounts/${boId}/disable`));
    await confirmWithRecoveryCode(page, adaEnrolment.recoveryCodes[2]);

    await page
      .getByTestId("accounts-status")
      .getByText(`Kontot för ${bo.name} är avstängt. ${bo.name} har loggats ut.`, { exact: true })
      .waitFor();
    await boRow.getByText("Avstängt", { exact: true }).waitFor();
    assert.equal(await boRow.getAttribute("data-status"), "disabled");
    assert.deepEqual(await boRow.getByRole("button").allTextContents(), ["Ändra roller"], "only roles can still be changed");

    // Bo's page, at its next request, goes to sign in; his password no longer works.
    await expectSignedOut(boPage);
    boProvoked.push(notSignedIn);
    await boPage.getByLabel("E-postadress").fill(bo.email);
    await boPage.getByLabel("Lösenord", { exact: true }).fill(bo.password);
    await boPage.getByRole("button", { name: "Fortsätt" }).click();
    boProvoked.push(wrongPassword);
    await boPage.getByRole("alert").getByText(text.sv.invalidCredentials, { exact: true }).waitFor();
    assert.equal(await boPage.getByLabel("Engångskod").isVisible(), false, "no second step");

    await assertClean(boPage, boProblems, boProvoked);
    await assertClean(page, problems, provoked);
  });

  it("shows the administration page in English after switching", { timeout: testTimeoutMs }, async () => {
    await page.getByRole("button", { name: "English" }).click();
    assert.equal(await page.locator("html").getAttribute("lang"), "en");
    assert.equal(await page.locator("h1").textContent(), "Administration");
    assert.equal(await page.title(), "Administration – Trygg");
    await page.getByRole("navigation").getByRole("link", { name: "Administration" }).waitFor();
    await page.getByRole("navigation").getByRole("link", { name: "My account" }).waitFor();
    await page.getByRole("heading", { name: "Invite a staff member" }).waitFor();
    await page.getByRole("heading", { name: "Accounts" }).waitFor();
    const invite = page.getByRole("form", { name: "Invite a staff member" });
    await invite.getByLabel("E-mail address").waitFor();
    await invite.getByLabel("Name", { exact: true }).waitFor();
    for (const role of ["Administrator", "Security officer", "Data protection officer", "Supervisor", "Adviser", "Auditor"]) {
      await invite.getByRole("checkbox", { name: role, exact: true }).waitFor();
    }
    await invite.getByText("Choose at least one role.", { exact: true }).waitFor();
    await invite.getByRole("button", { name: "Invite" }).waitFor();
    assert.deepEqual(
      (await page.locator("table.accounts thead th").allTextContents()).map((header) => header.trim()),
      ["Name", "E-mail address", "Roles", "Status", "Created", "Actions"],
    );

    const rows = page.locator("table.accounts tbody tr");
    const own = rows.filter({ hasText: ada.email });
    await own.getByText("You", { exact: true }).waitFor();
    await own.getByText("Active", { exact: true }).waitFor();
    await own.getByText("Another administrator changes your own account.", { exact: true }).waitFor();
    await own.getByRole("button", { name: "Reset second factor" }).waitFor();
    const boRow = rows.filter({ hasText: bo.email });
    await boRow.getByText("Disabled", { exact: true }).waitFor();
    await boRow.getByText("Adviser, Auditor", { exact: true }).waitFor();
    await boRow.getByRole("button", { name: "Change roles" }).waitFor();
    await page
      .getByTestId("accounts-status")
      .getByText(`The account of ${bo.name} is disabled. ${bo.name} has been signed out.`, { exact: true })
      .waitFor();
    assert.equal(await page.locator("#step-up-title").textContent(), "Confirm it is you", "the closed dialog too");

    // Dates follow the language.
    const created = boRow.locator("time");
    const datetime = await created.getAttribute("datetime");
    const formatted = await page.evaluate(
      (when) => new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short" }).format(new Date(when)),
      datetime,
    );
    assert.equal(await created.textContent(), formatted);
    assert.equal(await page.getByRole("main").getByText("Roller", { exact: true }).count(), 0, "no Swedish left");

    await page.getByRole("button", { name: "Svenska" }).click();
    await page.getByRole("heading", { name: "Bjud in personal" }).waitFor();

    await assertClean(page, problems, provoked);
  });

  it("the whole run was clean, and the server stops gracefully on SIGTERM", { timeout: testTimeoutMs }, async () => {
    await assertClean(boPage, boProblems, boProvoked);
    await assertClean(page, problems, provoked);
    await browser.close();
    browser = undefined;

    const exit = await stopServer(server);
    assert.ok(exit, `trygg did not exit within ${shutdownTimeoutMs / 1000} s of SIGTERM\nstderr:\n${server.stderr()}`);
    assert.deepEqual(exit, { code: 0, signal: null }, `trygg exited uncleanly\nstderr:\n${server.stderr()}`);
  });
});

/**
 * Answers the open step-up dialog with a recovery code: focus starts in the app-code field, the
 * switch moves it to the recovery-code field, and the dialog closes once the server accepts.
 */
async function confirmWithRecoveryCode(page, recoveryCode) {
  const dialog = page.getByRole("dialog", { name: "Bekräfta att det är du" });
  await dialog.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), "step-up-code");
  await dialog.getByRole("button", { name: "Använd en återställningskod i stället" }).click();
  assert.equal(await page.evaluate(() => document.activeElement?.id), "step-up-recovery-code");
  await dialog.getByLabel("Återställningskod").fill(recoveryCode);
  await dialog.getByRole("button", { name: "Bekräfta" }).click();
  await dialog.waitFor({ state: "hidden" });
}

/** Reloads `page` (a signed-in page) and expects to land on the sign-in page: the session is gone. */
async function expectSignedOut(page) {
  await page.reload();
  await page.waitForURL(/\/sign-in$/);
  await page.getByLabel("E-postadress").waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem("trygg.signedIn")), null);
}

/** Signs in with password and a recovery code, and waits for /account. */
async function signInWithRecoveryCode(page, person, recoveryCode) {
  await page.getByLabel("E-postadress").fill(person.email);
  await page.getByLabel("Lösenord", { exact: true }).fill(person.password);
  await page.getByRole("button", { name: "Fortsätt" }).click();
  await page.getByRole("button", { name: "Använd en återställningskod i stället" }).click();
  await page.getByLabel("Återställningskod").fill(recoveryCode);
  await page.getByRole("button", { name: "Logga in" }).click();
  await page.waitForURL(/\/account$/);
  await page.getByRole("main").getByText(`Inloggad som ${person.name} (${person.email})`, { exact: true }).waitFor();
}
