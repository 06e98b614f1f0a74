// The web shell in a real browser (Debian's Chromium, driven by playwright-core) against the real
// `trygg demo` server, under the server's real headers.
//
// It checks what a person and the security policy would notice: landmarks, language switch,
// keyboard path, the server's information in the footer, the response headers, and that the
// whole run produces no CSP violation, console error or warning, page error, failed request or
// error response. It does not test the server's API beyond what the page uses.
//
// Run it with TRYGG_BIN naming a built binary, e.g.
//   TRYGG_BIN=../target/debug/trygg npm test
// CHROMIUM_BIN overrides the browser (default /usr/bin/chromium). No tool downloads a browser.

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  assertClean,
  killServer,
  launchBrowser,
  newContext,
  openWatchedPage,
  serverStartTimeoutMs,
  shutdownTimeoutMs,
  startServer,
  stopServer,
  testTimeoutMs,
  tryggBin,
  waitForServerInfo,
} from "./support.mjs";

// The policy the server must send with the page, directive by directive. Each directive must be
// present with exactly these sources; the server may add directives but not loosen these.
const expectedCsp = {
  "default-src": ["'none'"],
  "script-src": ["'self'"],
  "style-src": ["'self'"],
  "img-src": ["'self'", "data:"],
  "font-src": ["'self'"],
  "connect-src": ["'self'"],
  "media-src": ["'self'", "blob:"],
  "worker-src": ["'self'", "blob:"],
  "manifest-src": ["'self'"],
  "form-action": ["'self'"],
  "base-uri": ["'none'"],
  "frame-ancestors": ["'none'"],
  "require-trusted-types-for": ["'script'"],
  "trusted-types": ["trygg"],
};

const text = {
  sv: { heading: "Välkommen till Trygg", loadFailed: "Det gick inte att nå servern. Kontrollera din anslutning och ladda om sidan." },
  en: { heading: "Welcome to Trygg", loadFailed: "Could not reach the server. Check your connection and reload the page." },
};

describe("web shell in Chromium against `trygg demo`", () => {
  /** @type {Awaited<ReturnType<typeof startServer>> | undefined} */
  let server;
  /** @type {import("playwright-core").Browser | undefined} */
  let browser;
  /** @type {import("playwright-core").BrowserContext} */
  let context;
  /** @type {import("playwright-core").Page} */
  let page;
  /** Everything that went wrong on `page` during the whole run. */
  let problems;
  let dataDir;

  before(
    async () => {
      const bin = tryggBin();
      dataDir = await mkdtemp(join(tmpdir(), "trygg-web-test-"));
      server = await startServer(bin, dataDir);
      browser = await launchBrowser();
      context = await newContext(browser, server.baseUrl, "sv-SE");
      ({ page, problems } = await openWatchedPage(context));
    },
    { timeout: serverStartTimeoutMs + 30_000 },
  );

  after(async () => {
    // Always leave nothing behind, whatever failed above.
    await browser?.close().catch(() => {});
    killServer(server);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("loads with landmarks, one h1, a language and the server's information", { timeout: testTimeoutMs }, async () => {
    const response = await page.goto("/");
    assert.equal(response?.status(), 200);

    assert.match(await page.title(), /Trygg/);
    assert.equal(await page.locator("h1").count(), 1);
    assert.ok(await page.locator("h1").isVisible(), "h1 is visible");
    assert.equal(await page.getByRole("main").count(), 1);
    assert.equal(await page.getByRole("banner").count(), 1);
    assert.equal(await page.getByRole("navigation").count(), 1);
    assert.equal(await page.getByRole("contentinfo").count(), 1);
    assert.equal(await page.locator("main").getAttribute("id"), "main");
    // A Swedish browser with no stored choice gets Swedish.
    assert.equal(await page.locator("html").getAttribute("lang"), "sv");
    assert.equal(await page.locator("h1").textContent(), text.sv.heading);

    const status = page.getByRole("status");
    assert.equal(await status.getAttribute("aria-live"), "polite");

    // The footer shows what the server really answered, not what this test expects it to.
    const infoResponse = await page.request.get("/api/v1/info");
    assert.equal(infoResponse.status(), 200);
    const info = await infoResponse.json();
    assert.equal(info.product, "Trygg");
    assert.equal(typeof info.version, "string");
    assert.ok(info.version.length > 0, "version is non-empty");
    assert.equal(typeof info.organisation, "string", "the demo seeds an organisation");
    assert.ok(info.organisation.length > 0, "organisation is non-empty");
    const footer = page.getByRole("contentinfo");
    await footer.getByText(info.organisation).waitFor();
    await footer.getByText(info.version).waitFor();
    assert.equal((await status.textContent())?.trim(), "", "the loading message is gone");

    await assertClean(page, problems);
  });

  it("switches language, and the choice survives a reload", { timeout: testTimeoutMs }, async () => {
    await page.goto("/");
    await waitForServerInfo(page);
    const svenska = page.getByRole("button", { name: "Svenska" });
    const english = page.getByRole("button", { name: "English" });
    const group = page.getByRole("group");
    assert.equal(await svenska.getAttribute("aria-pressed"), "true");
    assert.equal(await english.getAttribute("aria-pressed"), "false");
    assert.equal(await group.getAttribute("aria-label"), "Språk");

    await english.click();
    assert.equal(await page.locator("h1").textContent(), text.en.heading);
    assert.equal(await page.locator("html").getAttribute("lang"), "en");
    assert.equal(await english.getAttribute("aria-pressed"), "true");
    assert.equal(await svenska.getAttribute("aria-pressed"), "false");
    assert.equal(await group.getAttribute("aria-label"), "Language");
    assert.match(await page.title(), /Trygg/);
    assert.equal(await page.evaluate(() => localStorage.getItem("trygg.lang")), "en");

    await page.reload();
    await waitForServerInfo(page);
    assert.equal(await page.locator("h1").textContent(), text.en.heading);
    assert.equal(await page.locator("html").getAttribute("lang"), "en");

    await svenska.click();
    assert.equal(await page.locator("h1").textContent(), text.sv.heading);
    assert.equal(await page.locator("html").getAttribute("lang"), "sv");
    await page.reload();
    await waitForServerInfo(page);
    assert.equal(await page.locator("h1").textContent(), text.sv.heading);
    assert.equal(await page.locator("html").getAttribute("lang"), "sv");

    await assertClean(page, problems);
  });

  it("is usable with the keyboard alone, skip link first", { timeout: testTimeoutMs }, async () => {
    await page.goto("/");
    await waitForServerInfo(page);

    const focused = () =>
      page.evaluate(() => {
        const active = document.activeElement;
        if (!active || active === document.body) return null;
        const box = active.getBoundingClientRect();
        return {
          tag: active.tagName.toLowerCase(),
          href: active.getAttribute("href"),
          text: active.textContent?.trim() ?? "",
          outline: getComputedStyle(active).outlineStyle,
          onScreen: box.top >= 0 && box.left >= 0 && box.bottom <= innerHeight && box.width > 0,
        };
      });

    // Every interactive element, in order, and each shows where the focus is.
    const order = [];
    for (let step = 0; step < 5; step++) {
      await page.keyboard.press("Tab");
      const current = await focused();
      assert.ok(current, `Tab ${step + 1} focuses something`);
      assert.notEqual(current.outline, "none", `focus on ${current.text} is visible`);
      assert.ok(current.onScreen, `focused ${current.text} is on screen`);
      order.push(current);
    }
    assert.equal(order[0].tag, "a");
    assert.equal(order[0].href, "#main", "the first Tab reaches the skip link");
    assert.deepEqual(
      order.slice(1).map(({ tag, text }) => `${tag}:${text}`),
      ["a:Start", "a:Logga in", "button:Svenska", "button:English"],
    );

    // English is focused: Enter switches the language, and Shift+Tab, Space switches it back.
    await page.keyboard.press("Enter");
    assert.equal(await page.locator("html").getAttribute("lang"), "en");
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Space");
    assert.equal(await page.locator("html").getAttribute("lang"), "sv");

    // The skip link moves keyboard focus, not only the scroll position, to main.
    await page.goto("/");
    await waitForServerInfo(page);
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "main");

    await assertClean(page, problems);
  });

  it("is served with the security headers and is cross-origin isolated", { timeout: testTimeoutMs }, async () => {
    const response = await page.goto("/");
    assert.ok(response, "navigation has a response");
    const headers = await response.allHeaders();

    const csp = headers["content-security-policy"];
    assert.ok(csp, "content-security-policy is sent");
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|unsafe-hashes|strict-dynamic/);
    assert.match(csp, /frame-ancestors 'none'/);
    const directives = parseCsp(csp);
    for (const [name, sources] of Object.entries(expectedCsp)) {
      assert.deepEqual(directives.get(name), sources, `CSP directive ${name}`);
    }

    assert.match(headers["strict-transport-security"] ?? "", /max-age=[1-9]\d*/);
    assert.equal(headers["x-content-type-options"], "nosniff");
    assert.equal(headers["referrer-policy"], "no-referrer");
    assert.equal(headers["cross-origin-opener-policy"], "same-origin");
    assert.equal(headers["cross-origin-embedder-policy"], "require-corp");
    assert.equal(headers["cross-origin-resource-policy"], "same-origin");
    assert.match(headers["content-type"] ?? "", /^text\/html/);

    for (const [path, type] of [
      ["/assets/app.js", /^(text|application)\/javascript/],
      ["/assets/app.css", /^text\/css/],
      ["/favicon.svg", /^image\/svg\+xml/],
    ]) {
      const asset = await page.request.get(path);
      assert.equal(asset.status(), 200, path);
      assert.match(asset.headers()["content-type"] ?? "", type, `${path} content-type`);
      assert.equal(asset.headers()["x-content-type-options"], "nosniff", `${path} nosniff`);
    }

    assert.equal(await page.evaluate(() => isSecureContext), true);
    assert.equal(await page.evaluate(() => crossOriginIsolated), true);

    await waitForServerInfo(page);
    await assertClean(page, problems);
  });

  it("enforces Trusted Types, and the watchers see it (a test of this test)", { timeout: testTimeoutMs }, async () => {
    const isolated = await newContext(browser, server.baseUrl, "sv-SE");
    try {
      const { page: probe, problems: probeProblems } = await openWatchedPage(isolated);
      await probe.goto("/");
      await waitForServerInfo(probe);
      const outcome = await probe.evaluate(() => {
        try {
          document.body.innerHTML = "<b>not allowed</b>";
          return "assigned";
        } catch (error) {
          return error instanceof TypeError ? "TypeError" : String(error);
        }
      });
      assert.equal(outcome, "TypeError", "assigning a string to innerHTML throws");
      await probe.waitForFunction(() => window.__cspViolations.length > 0);
      const violations = await probe.evaluate(() => window.__cspViolations);
      assert.deepEqual(
        violations.map(({ directive }) => directive),
        ["require-trusted-types-for"],
      );
      assert.ok(probeProblems.console.length > 0, "Chromium reports the violation on the console");
    } finally {
      await isolated.close();
    }
  });

  it("speaks English to an English browser and says what to do when the server is unreachable", { timeout: testTimeoutMs }, async () => {
    const english = await newContext(browser, server.baseUrl, "en-US");
    try {
      const { page: probe, problems: probeProblems } = await openWatchedPage(english);
      await probe.route("**/api/v1/info", (route) => route.abort("connectionrefused"));
      await probe.goto("/");
      assert.equal(await probe.locator("html").getAttribute("lang"), "en");
      assert.equal(await probe.locator("h1").textContent(), text.en.heading);
      const status = probe.getByRole("status");
      await status.getByText(text.en.loadFailed).waitFor();
      assert.ok(await probe.getByRole("button", { name: "Reload page" }).isVisible());

      // Switching language translates the error too.
      await probe.getByRole("button", { name: "Svenska" }).click();
      await status.getByText(text.sv.loadFailed).waitFor();

      // Only the one request that was made to fail may have failed.
      assert.deepEqual(probeProblems.cspViolations, []);
      assert.deepEqual(probeProblems.pageErrors, []);
      assert.deepEqual(
        probeProblems.failedRequests.map((failure) => new URL(failure.url).pathname),
        ["/api/v1/info"],
      );
    } finally {
      await english.close();
    }
  });

  it("the whole run was clean, and the server stops gracefully on SIGTERM", { timeout: testTimeoutMs }, async () => {
    await assertClean(page, problems);
    await browser.close();
    browser = undefined;

    const exit = await stopServer(server);
    assert.ok(exit, `trygg did not exit within ${shutdownTimeoutMs / 1000} s of SIGTERM\nstderr:\n${server.stderr()}`);
    assert.deepEqual(exit, { code: 0, signal: null }, `trygg exited uncleanly\nstderr:\n${server.stderr()}`);
  });
});

/** `default-src 'none'; img-src 'self' data:` → Map { default-src → ['none'], img-src → ['self', 'data:'] } */
function parseCsp(policy) {
  const directives = new Map();
  for (const directive of policy.split(";")) {
    const [name, ...sources] = directive.trim().split(/\s+/);
    if (name) directives.set(name.toLowerCase(), sources);
  }
  return directives;
}
