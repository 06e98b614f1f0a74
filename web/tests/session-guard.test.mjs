// What guards a signed-in session, in a real browser (Debian's Chromium, driven by
// playwright-core) against the real `trygg demo` server:
// - a cross-site request made with the person's browser changes nothing: a page on another
//   site submits a form to end every session of the signed-in administrator, the server refuses
//   it as cross-site before any handler runs, and the session is still alive afterwards;
// - a session that sits idle past the idle timeout (5 s here, through
//   TRYGG_SESSIONS__IDLE_TIMEOUT_SECS) has ended: the next page load lands on sign-in.
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
  delay,
  enrol,
  killServer,
  launchBrowser,
  newContext,
  openWatchedPage,
  serverStartTimeoutMs,
  startServer,
  stopServer,
  testTimeoutMs,
  tryggBin,
} from "./support.mjs";

const admin = { email: "ada.admin@example.se", name: "Ada Admin" };
const password = "ett långt och hemligt lösenord 2026";
const idleTimeoutSecs = 5;
const attackerOrigin = "https://attacker.example";

describe("session guards in Chromium against `trygg demo`", () => {
  let server;
  let browser;
  let context;
  let page;
  let problems;
  let dataDir;
  let bootstrap;

  before(
    async () => {
      const bin = tryggBin();
      dataDir = await mkdtemp(join(tmpdir(), "trygg-web-guard-"));
      server = await startServer(bin, dataDir, {
        env: { TRYGG_SESSIONS__IDLE_TIMEOUT_SECS: String(idleTimeoutSecs) },
      });
      bootstrap = await bootstrapAdmin(bin, dataDir, admin);
      browser = await launchBrowser();
      context = await newContext(browser, server.baseUrl, "sv-SE");
      ({ page, problems } = await openWatchedPage(context));
    },
    { timeout: serverStartTimeoutMs + 30_000 },
  );

  after(async () => {
    await browser?.close().catch(() => {});
    killServer(server);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("refuses a request another site makes with the person's browser", { timeout: testTimeoutMs }, async () => {
    await page.goto(`/enrol#${bootstrap.token}`);
    await enrol(page, password);
    await page.waitForURL(`${server.baseUrl}/account`);
    await page.getByRole("main").getByText(`Inloggad som ${admin.name} (${admin.email})`, { exact: true }).waitFor();
    const me = await page.evaluate(async () => (await fetch("/api/v1/session")).json());

    // A page on another site that posts a form to Trygg as soon as it loads: ending every
    // session of the administrator would be visible, so would any success.
    const target = `${server.baseUrl}/api/v1/accounts/${me.account.id}/revoke-sessions`;
    await context.route(`${attackerOrigin}/**`, (route) =>
      route.fulfill({
        contentType: "text/html",
        body: `<!doctype html><form method="post" action="${target}"></form>
               <script>document.forms[0].submit()</script>`,
      }),
    );
    const attack = await context.newPage();
    const refused = attack.waitForResponse((response) => response.url() === target);
    await attack.goto(`${attackerOrigin}/prize`);
    const response = await refused;
    assert.equal(response.status(), 403);
    assert.equal((await response.json()).code, "cross_site_refused");
    await attack.close();

    // Nothing changed: the administrator is still signed in.
    const still = await page.evaluate(async () => (await fetch("/api/v1/session")).status);
    assert.equal(still, 200);
    await assertClean(page, problems);
  });

  it("ends a session left idle past the idle timeout", { timeout: testTimeoutMs }, async () => {
    await page.reload();
    await page.getByRole("main").getByText(`Inloggad som ${admin.name} (${admin.email})`, { exact: true }).waitFor();
    await page.waitForLoadState("networkidle");
    await delay((idleTimeoutSecs + 1.5) * 1000);
    // The server has ended the idle session, not only the page.
    const status = await page.evaluate(async () => (await fetch("/api/v1/session")).status);
    assert.equal(status, 401);
    // Opening a page that needs a session now leads to sign-in.
    await page.goto("/account");
    await page.waitForURL(`${server.baseUrl}/sign-in`);
    await page.getByRole("heading", { level: 1 }).waitFor();
    await page.waitForLoadState("networkidle");
    // The page's own session checks still in flight when it moves on to sign-in are aborted by
    // that move; they say nothing about the server. Any other failed request still fails.
    problems.failedRequests = problems.failedRequests.filter(
      (failure) => !(failure.error === "net::ERR_ABORTED" && new URL(failure.url).pathname === "/api/v1/session"),
    );
    const seen = problems.errorResponses.filter((entry) => entry === "401 GET /api/v1/session").length;
    assert.ok(seen >= 2, `the expired session was refused: ${problems.errorResponses}`);
    await assertClean(page, problems, Array(seen).fill("401 GET /api/v1/session"));
  });

  it("stops gracefully on SIGTERM", { timeout: testTimeoutMs }, async () => {
    await browser.close();
    browser = undefined;
    const exit = await stopServer(server);
    assert.equal(exit.code, 0);
  });
});
