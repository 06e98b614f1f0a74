// Staff sign-in in a real browser (Debian's Chromium, driven by playwright-core) against the real
// `trygg demo` server: the first administrator enrols from the link `trygg admin bootstrap`
// prints, sees their sessions, signs out, and signs in again with password and TOTP or a
// recovery code.
//
// It checks what a person would notice (the pages, their errors and language, where focus goes)
// and what the security design promises: the enrolment token leaves the address bar at once, a
// TOTP code is not accepted twice, a recovery code works once, another session can be signed out.
// Like the shell test it fails on any CSP violation, console error or warning, page error or
// failed request; the only error responses allowed are the ones the test provokes, each named.
// TOTP codes are computed with node's crypto (support.mjs), checked against RFC 6238 first.
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
  keepRecoveryCodes,
  killServer,
  launchBrowser,
  newContext,
  openWatchedPage,
  serverStartTimeoutMs,
  startServer,
  stopServer,
  testTimeoutMs,
  totp,
  tryggBin,
} from "./support.mjs";

const admin = { email: "ada.admin@example.se", name: "Ada Admin" };
const newPassword = "ett långt och hemligt lösenord 2026";

// The failures each step provokes, as the server must answer them.
const wrongPassword = "401 POST /api/v1/session/password";
const refusedCode = "401 POST /api/v1/session/mfa";
const notSignedIn = "401 GET /api/v1/session";

const text = {
  sv: {
    enrolTitle: "Aktivera ditt konto",
    signedInAs: `Inloggad som ${admin.name} (${admin.email})`,
    invalidCredentials: "E-postadressen eller lösenordet stämmer inte. Kontrollera dem och försök igen.",
    invalidCode: "Koden är fel eller har redan använts. Vänta på nästa kod och försök igen.",
    invalidRecoveryCode: "Återställningskoden är fel eller har redan använts. Kontrollera den eller använd en annan kod.",
    passwordTooShort: /^Lösenordet är för kort\. Använd minst (\d+) tecken\.$/,
    emailMissing: "Skriv din e-postadress.",
  },
  en: {
    emailMissing: "Enter your e-mail address.",
  },
};

describe("staff enrolment, sign-in and sessions in Chromium against `trygg demo`", () => {
  /** @type {Awaited<ReturnType<typeof startServer>> | undefined} */
  let server;
  /** @type {import("playwright-core").Browser | undefined} */
  let browser;
  /** @type {import("playwright-core").Page} */
  let page;
  let problems;
  let dataDir;
  /** Error responses provoked on `page` so far, in order. */
  const provoked = [];
  /** What the bootstrap command printed. */
  let bootstrap;
  /** The base32 TOTP secret the enrolment page showed. */
  let secret;
  /** The TOTP code typed during enrolment; the server must never accept it again. */
  let enrolmentCode;
  let recoveryCodes;

  before(
    async () => {
      const bin = tryggBin();
      dataDir = await mkdtemp(join(tmpdir(), "trygg-web-identity-"));
      server = await startServer(bin, dataDir);
      bootstrap = await bootstrapAdmin(bin, dataDir, admin);

      browser = await launchBrowser();
      const context = await newContext(browser, server.baseUrl, "sv-SE");
      ({ page, problems } = await openWatchedPage(context));
    },
    { timeout: serverStartTimeoutMs + 30_000 },
  );

  after(async () => {
    await browser?.close().catch(() => {});
    killServer(server);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("computes TOTP codes as RFC 6238 does (a test of this test)", () => {
    const rfcSecret = Buffer.from("12345678901234567890", "ascii");
    assert.deepEqual(base32Decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), rfcSecret);
    assert.equal(totp(rfcSecret, 59_000, 8), "94287082");
    assert.equal(totp(rfcSecret, 59_000), "287082");
    assert.equal(totp(rfcSecret, 1_111_111_109_000, 8), "07081804");
  });

  it("enrols the first administrator from the bootstrap link", { timeout: testTimeoutMs }, async () => {
    // The base URL the demo printed, not the public host in enrolment_url.
    await page.goto(`/enrol#${bootstrap.token}`);
    const secretBox = page.getByTestId("totp-secret");
    await secretBox.waitFor();

    // The token has left the address bar and the history entry at once.
    assert.equal(page.url(), `${server.baseUrl}/enrol`);
    assert.equal(await page.evaluate(() => location.hash), "");
    assert.equal(await page.locator("h1").textContent(), text.sv.enrolTitle);
    assert.match(await page.title(), new RegExp(`^${text.sv.enrolTitle} – Trygg$`));

    // Whose account this is, and the steps.
    const main = page.getByRole("main");
    await main.getByText(admin.name, { exact: true }).waitFor();
    await main.getByText(admin.email, { exact: true }).waitFor();
    assert.equal(await main.locator("ol li").count() >= 3, true, "the steps are listed");

    // The QR code is a data: image the CSP lets through, and it rendered.
    const qr = main.getByRole("img", { name: /QR-kod/ });
    assert.match(await qr.getAttribute("src"), /^data:image\/svg\+xml;base64,/);
    await page.waitForFunction(() => {
      const image = document.querySelector("img.qr");
      return image instanceof HTMLImageElement && image.complete && image.naturalWidth > 0;
    });

    // The secret, raw in data-secret and in blocks of four for the eye.
    secret = await secretBox.getAttribute("data-secret");
    assert.match(secret, /^[A-Z2-7]{16,}=*$/);
    assert.equal((await secretBox.textContent()).trim(), secret.match(/.{1,4}/g).join(" "));

    // The password field: new-password, with the server's minimum shown, and a show/hide switch.
    const password = page.getByLabel("Nytt lösenord");
    assert.equal(await password.getAttribute("autocomplete"), "new-password");
    assert.equal(await password.getAttribute("type"), "password");
    const hint = await page.locator("#enrol-password-hint").textContent();
    const minLength = Number(/(\d+)/.exec(hint)?.[1]);
    assert.ok(minLength >= 8, `the hint shows the minimum length: ${hint}`);
    await page.getByRole("button", { name: "Visa lösenord" }).click();
    assert.equal(await password.getAttribute("type"), "text");
    await page.getByRole("button", { name: "Dölj lösenord" }).click();
    assert.equal(await password.getAttribute("type"), "password");

    const code = page.getByLabel("Kod från appen");
    assert.equal(await code.getAttribute("inputmode"), "numeric");
    assert.equal(await code.getAttribute("autocomplete"), "one-time-code");

    // Too short a password is refused before anything is sent, and says how long it must be.
    const submit = page.getByRole("button", { name: "Aktivera kontot" });
    await password.fill("x".repeat(minLength - 1));
    await code.fill("123456");
    await submit.click();
    const alert = page.getByRole("alert");
    await alert.getByText(text.sv.passwordTooShort).waitFor();
    assert.equal(text.sv.passwordTooShort.exec(await alert.textContent())?.[1], String(minLength));
    assert.equal(await password.getAttribute("aria-invalid"), "true");
    assert.match(await password.getAttribute("aria-describedby"), /\benrol-error\b/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), "enrol-password");

    // The real password and the current code. The request is held back a little so the busy
    // state can be seen.
    await password.fill(newPassword);
    enrolmentCode = totp(base32Decode(secret), Date.now());
    await code.fill(enrolmentCode);
    await page.route("**/api/v1/enrolment/finish", async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await route.continue();
    });
    await submit.click();
    const busy = page.getByRole("button", { name: "Arbetar …" });
    await busy.waitFor();
    assert.equal(await busy.isDisabled(), true, "the submit button is disabled while working");

    // The recovery codes, shown once; Continue only once they are saved.
    recoveryCodes = await keepRecoveryCodes(page);
    await page.unroute("**/api/v1/enrolment/finish");
    assert.equal(page.url(), `${server.baseUrl}/account`);

    await assertClean(page, problems, provoked);
  });

  it("shows the account with exactly one session, this device", { timeout: testTimeoutMs }, async () => {
    const main = page.getByRole("main");
    await main.getByText(text.sv.signedInAs, { exact: true }).waitFor();
    // The roles as the server names them, translated where the client knows the name.
    const sessionResponse = await page.request.get("/api/v1/session");
    assert.equal(sessionResponse.status(), 200);
    const { account, csrf_token: csrfToken } = await sessionResponse.json();
    assert.ok(account.roles.length > 0, "the first administrator has a role");
    assert.equal(typeof csrfToken, "string");
    const roleNames = { admin: "Administratör", adviser: "Rådgivare", auditor: "Granskare" };
    assert.equal(
      await main.locator(".facts dd").textContent(),
      account.roles.map((role) => roleNames[role] ?? role).join(", "),
    );
    assert.equal(await page.title(), "Mitt konto – Trygg");
    const menuLink = page.getByRole("navigation").getByRole("link", { name: "Mitt konto" });
    assert.equal(await menuLink.getAttribute("aria-current"), "page");

    const rows = main.locator("table.sessions tbody tr");
    assert.equal(await rows.count(), 1);
    assert.equal(await rows.first().getAttribute("data-current"), "true");
    await rows.first().getByText("Den här enheten").waitFor();
    assert.equal(await main.getByRole("button", { name: "Logga ut den här inloggningen" }).count(), 0);

    // Times are shown in Swedish, and follow a change of language.
    const createdAt = rows.first().locator("time").first();
    const datetime = await createdAt.getAttribute("datetime");
    assert.ok(Math.abs(Date.parse(datetime) - Date.now()) < 5 * 60_000, `created just now: ${datetime}`);
    const formatted = (locale) =>
      page.evaluate(
        ([when, tag]) => new Intl.DateTimeFormat(tag, { dateStyle: "medium", timeStyle: "short" }).format(new Date(when)),
        [datetime, locale],
      );
    assert.equal(await createdAt.textContent(), await formatted("sv-SE"));
    await page.getByRole("button", { name: "English" }).click();
    assert.equal(await createdAt.textContent(), await formatted("en-GB"));
    await main.getByText(`Signed in as ${admin.name} (${admin.email})`, { exact: true }).waitFor();
    await rows.first().getByText("This device").waitFor();
    await page.getByRole("button", { name: "Svenska" }).click();
    assert.equal(await createdAt.textContent(), await formatted("sv-SE"));

    // Reloading keeps the session; the page asks the server, not a cache.
    await page.reload();
    await main.getByText(text.sv.signedInAs, { exact: true }).waitFor();

    await assertClean(page, problems, provoked);
  });

  it("signs out, and a wrong password is refused with no second step", { timeout: testTimeoutMs }, async () => {
    await signOut(page);
    assert.equal(await page.evaluate(() => localStorage.getItem("trygg.signedIn")), null);
    const menuLink = page.getByRole("navigation").getByRole("link", { name: "Logga in" });
    assert.equal(await menuLink.getAttribute("aria-current"), "page");

    const email = page.getByLabel("E-postadress");
    const password = page.getByLabel("Lösenord", { exact: true });
    assert.equal(await email.getAttribute("autocomplete"), "username");
    assert.equal(await password.getAttribute("autocomplete"), "current-password");
    await email.fill(admin.email);
    await password.fill(`${newPassword}!`);
    await page.getByRole("button", { name: "Fortsätt" }).click();
    provoked.push(wrongPassword);

    const alert = page.getByRole("alert");
    await alert.getByText(text.sv.invalidCredentials, { exact: true }).waitFor();
    for (const field of [email, password]) {
      assert.equal(await field.getAttribute("aria-invalid"), "true");
      assert.match(await field.getAttribute("aria-describedby"), /\bsign-in-error\b/);
    }
    assert.equal(await page.getByLabel("Engångskod").isVisible(), false, "no second step");
    assert.equal(await page.getByRole("button", { name: "Fortsätt" }).isEnabled(), true, "the button is usable again");

    await assertClean(page, problems, provoked);
  });

  it("refuses the TOTP code used during enrolment, and accepts a recovery code", { timeout: testTimeoutMs }, async () => {
    await signInWithPassword(page);
    const code = page.getByLabel("Engångskod");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "sign-in-code", "focus is on the code");
    assert.equal(await code.getAttribute("inputmode"), "numeric");
    assert.equal(await code.getAttribute("autocomplete"), "one-time-code");
    assert.equal(await page.getByLabel("E-postadress").isVisible(), false, "the first step is gone");

    // The very code typed during enrolment, whatever the time is now: a replay.
    await code.fill(enrolmentCode);
    await page.getByRole("button", { name: "Logga in" }).click();
    provoked.push(refusedCode);
    await page.getByRole("alert").getByText(text.sv.invalidCode, { exact: true }).waitFor();
    assert.equal(await code.getAttribute("aria-invalid"), "true");
    assert.match(await code.getAttribute("aria-describedby"), /\bsign-in-error\b/);

    await useRecoveryCode(page, recoveryCodes[0]);
    await page.waitForURL(`${server.baseUrl}/account`);
    await page.getByRole("main").getByText(text.sv.signedInAs, { exact: true }).waitFor();
    assert.equal(await page.locator("table.sessions tbody tr").count(), 1);

    await assertClean(page, problems, provoked);
  });

  it("accepts each recovery code only once", { timeout: testTimeoutMs }, async () => {
    await signOut(page);
    await signInWithPassword(page);
    await useRecoveryCode(page, recoveryCodes[0]);
    provoked.push(refusedCode);
    const field = page.getByLabel("Återställningskod");
    await page.getByRole("alert").getByText(text.sv.invalidRecoveryCode, { exact: true }).waitFor();
    assert.equal(await field.getAttribute("aria-invalid"), "true");
    assert.equal(page.url(), `${server.baseUrl}/sign-in`);

    await field.fill(recoveryCodes[1]);
    await page.getByRole("button", { name: "Logga in" }).click();
    await page.waitForURL(`${server.baseUrl}/account`);
    await page.getByRole("main").getByText(text.sv.signedInAs, { exact: true }).waitFor();

    await assertClean(page, problems, provoked);
  });

  it("signs out another device's session from My account", { timeout: testTimeoutMs }, async () => {
    // A second browser signs in with the third recovery code.
    const otherContext = await newContext(browser, server.baseUrl, "sv-SE");
    try {
      const { page: other, problems: otherProblems } = await openWatchedPage(otherContext);
      await other.goto("/sign-in");
      await signInWithPassword(other);
      await useRecoveryCode(other, recoveryCodes[2]);
      await other.waitForURL(`${server.baseUrl}/account`);
      await other.getByRole("main").getByText(text.sv.signedInAs, { exact: true }).waitFor();

      // The first browser sees it and signs it out.
      await page.reload();
      const rows = page.locator("table.sessions tbody tr");
      await page.getByRole("main").getByText(text.sv.signedInAs, { exact: true }).waitFor();
      assert.equal(await rows.count(), 2);
      assert.equal(await page.locator('table.sessions tbody tr[data-current="true"]').count(), 1);
      const endButtons = page.getByRole("button", { name: "Logga ut den här inloggningen" });
      assert.equal(await endButtons.count(), 1, "only the other session has a sign-out button");
      await endButtons.click();
      await page.getByRole("status").getByText(/är utloggad\.$/).waitFor();
      assert.equal(await rows.count(), 1);
      assert.equal(await rows.first().getAttribute("data-current"), "true");

      // The other browser is signed out: its account page sends it to sign in.
      await other.goto("/account");
      await other.waitForURL(`${server.baseUrl}/sign-in`);
      await other.getByLabel("E-postadress").waitFor();
      await assertClean(other, otherProblems, [notSignedIn]);
    } finally {
      await otherContext.close();
    }
    await assertClean(page, problems, provoked);
  });

  it("switches the sign-in page to English, errors included", { timeout: testTimeoutMs }, async () => {
    await signOut(page);
    await page.getByRole("button", { name: "Fortsätt" }).click();
    await page.getByRole("alert").getByText(text.sv.emailMissing, { exact: true }).waitFor();

    await page.getByRole("button", { name: "English" }).click();
    assert.equal(await page.locator("h1").textContent(), "Sign in");
    assert.equal(await page.title(), "Sign in – Trygg");
    assert.equal(await page.getByRole("navigation").getByRole("link", { name: "Sign in" }).count(), 1);
    await page.getByLabel("E-mail address").waitFor();
    await page.getByLabel("Password", { exact: true }).waitFor();
    await page.getByRole("button", { name: "Show password" }).waitFor();
    await page.getByRole("button", { name: "Continue" }).waitFor();
    await page.getByRole("alert").getByText(text.en.emailMissing, { exact: true }).waitFor();
    assert.equal(await page.getByLabel("E-postadress").count(), 0, "no Swedish label is left");

    // Every control of the form shows where keyboard focus is.
    await page.getByLabel("E-mail address").focus();
    for (const expected of ["sign-in-email", "sign-in-password", "Show password", "Continue"]) {
      const focused = await page.evaluate(() => {
        const active = document.activeElement;
        return { id: active?.id, text: active?.textContent, outline: active ? getComputedStyle(active).outlineStyle : "none" };
      });
      assert.ok(focused.id === expected || focused.text === expected, `focus on ${expected}, not ${JSON.stringify(focused)}`);
      assert.notEqual(focused.outline, "none", `focus on ${expected} is visible`);
      await page.keyboard.press("Tab");
    }

    await page.getByRole("button", { name: "Svenska" }).click();
    await page.getByLabel("E-postadress").waitFor();

    await assertClean(page, problems, provoked);
  });

  it("the whole run was clean, and the server stops gracefully on SIGTERM", { timeout: testTimeoutMs }, async () => {
    await assertClean(page, problems, provoked);
    await browser.close();
    browser = undefined;

    const exit = await stopServer(server);
    assert.ok(exit, `trygg did not exit within 10 s of SIGTERM\nstderr:\n${server.stderr()}`);
    assert.deepEqual(exit, { code: 0, signal: null }, `trygg exited uncleanly\nstderr:\n${server.stderr()}`);
  });
});

/** Signs out from the account page and waits for the sign-in page. */
async function signOut(page) {
  await page.goto("/account");
  await page.getByRole("main").getByText(text.sv.signedInAs, { exact: true }).waitFor();
  await page.getByRole("button", { name: "Logga ut", exact: true }).click();
  await page.waitForURL(/\/sign-in$/);
  await page.getByLabel("E-postadress").waitFor();
}

/** The first step with the right password; waits for the second. */
async function signInWithPassword(page) {
  await page.getByLabel("E-postadress").fill(admin.email);
  await page.getByLabel("Lösenord", { exact: true }).fill(newPassword);
  await page.getByRole("button", { name: "Fortsätt" }).click();
  await page.getByLabel("Engångskod").waitFor();
}

/** Switches the second step to a recovery code and sends `code`. */
async function useRecoveryCode(page, code) {
  await page.getByRole("button", { name: "Använd en återställningskod i stället" }).click();
  const field = page.getByLabel("Återställningskod");
  await field.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), "sign-in-recovery-code");
  await field.fill(code);
  await page.getByRole("button", { name: "Logga in" }).click();
}
