// What the browser tests share: starting and stopping the real `trygg` binary, running its admin
// commands, launching Debian's Chromium, watching a page for anything that went wrong, computing
// TOTP codes, and going through the enrolment page as a new staff member would.
//
// A watched page records every CSP violation, console error or warning, page error, failed
// request and response with status >= 400; `assertClean` fails unless the only error responses
// are the ones a test provoked on purpose, named by status, method and path. The only page this
// knows is the enrolment page (in Swedish), which every test that needs an account goes through.

import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHmac } from "node:crypto";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

export const chromiumPath = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
export const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
export const serverStartTimeoutMs = 60_000;
export const shutdownTimeoutMs = 10_000;
export const testTimeoutMs = 30_000;
const commandTimeoutMs = 60_000;

/** The binary under test, from TRYGG_BIN; fails with what to do if it is not set. */
export function tryggBin() {
  assert.ok(
    process.env.TRYGG_BIN,
    "TRYGG_BIN is not set: point it at a built trygg binary, e.g. `TRYGG_BIN=../target/debug/trygg npm test`",
  );
  return process.env.TRYGG_BIN;
}

/**
 * Starts `trygg demo` on a free loopback port and resolves once it has printed its https URL on
 * stdout. Rejects with the child's stderr if it exits first or stays silent too long. `env` adds
 * environment variables for the server (configuration such as `TRYGG_SESSIONS__...`).
 */
export async function startServer(bin, dataDir, { env = {} } = {}) {
  const child = spawn(bin, ["demo", "--data-dir", dataDir, "--listen", "127.0.0.1:0"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  const stdoutLines = [];
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const closed = new Promise((resolve) => child.once("close", (code, signal) => resolve({ code, signal })));
  const describeOutput = () => `stdout:\n${stdoutLines.slice(-50).join("\n")}\nstderr:\n${stderr}`;

  const baseUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`trygg printed no https://127.0.0.1:PORT URL within ${serverStartTimeoutMs / 1000} s\n${describeOutput()}`));
    }, serverStartTimeoutMs);
    // Keep reading stdout for the whole run, so the child never blocks on a full pipe.
    createInterface({ input: child.stdout }).on("line", (line) => {
      stdoutLines.push(line);
      if (stdoutLines.length > 1000) stdoutLines.shift();
      const match = /https:\/\/127\.0\.0\.1:\d+\/?/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(new URL(match[0]).origin);
      }
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${bin}: ${error.message}`));
    });
    closed.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`trygg exited (code ${code}, signal ${signal}) before printing its URL\n${describeOutput()}`));
    });
  });

  return { child, baseUrl, exited, stderr: () => stderr };
}

/**
 * Sends SIGTERM and resolves with `{ code, signal }` once the server has exited, or null if it
 * has not within `shutdownTimeoutMs`.
 */
export async function stopServer(server) {
  server.child.kill("SIGTERM");
  return Promise.race([server.exited, delay(shutdownTimeoutMs).then(() => null)]);
}

/** Kills the server if it still runs; for `after` hooks, whatever failed before. */
export function killServer(server) {
  if (server && server.child.exitCode === null && server.child.signalCode === null) server.child.kill("SIGKILL");
}

/** Runs `trygg <args>` to completion and resolves with its exit code, stdout and stderr. */
export function runTrygg(bin, args) {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: commandTimeoutMs, env: process.env }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? error.signal ?? "failed") : 0, stdout, stderr });
    });
  });
}

/**
 * Launches Chromium; with `media`, fake camera, microphone and screen that need no prompt (the
 * flags FIELD-NOTES lists for WebRTC on a loopback-only host).
 */
export async function launchBrowser({ media = false } = {}) {
  const mediaArgs = media
    ? [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        "--allow-loopback-in-peer-connection",
        "--disable-features=WebRtcHideLocalIpsWithMdns",
        "--autoplay-policy=no-user-gesture-required",
      ]
    : [];
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: [...chromiumArgs, ...mediaArgs] });
}

export async function newContext(browser, baseURL, locale) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, baseURL, locale });
  context.setDefaultTimeout(10_000);
  return context;
}

/**
 * A new page whose CSP violations, console errors and warnings, page errors, failed requests and
 * error responses are recorded in the returned `problems`, across navigations.
 */
export async function openWatchedPage(context) {
  const page = await context.newPage();
  const problems = {
    cspViolations: [],
    console: [],
    pageErrors: [],
    failedRequests: [],
    /** "STATUS METHOD /path", e.g. "401 POST /api/v1/session/password". */
    errorResponses: [],
  };
  // Each violation lands in the page (window.__cspViolations, gone on navigation) and, through
  // this binding, here, so none is lost when a test navigates away.
  await page.exposeFunction("__reportCspViolation", (violation) => problems.cspViolations.push(violation));
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (event) => {
      const violation = { directive: event.violatedDirective, blocked: event.blockedURI };
      window.__cspViolations.push(violation);
      window.__reportCspViolation?.(violation);
    });
  });
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      problems.console.push(`${message.type()}: ${message.text()} (${message.location().url})`);
    }
  });
  page.on("pageerror", (error) => problems.pageErrors.push(String(error)));
  page.on("requestfailed", (request) => {
    const error = request.failure()?.errorText;
    // Chromium fetches the favicon in the background and aborts that fetch when the page
    // navigates on; an aborted favicon says nothing about the server, so it is not a failure.
    // Every other failed request, aborted or not, still is.
    if (error === "net::ERR_ABORTED" && new URL(request.url()).pathname === "/favicon.svg") {
      return;
    }
    problems.failedRequests.push({ url: request.url(), error });
  });
  page.on("response", (response) => {
    if (response.status() >= 400) {
      problems.errorResponses.push(`${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`);
    }
  });
  return { page, problems };
}

/**
 * Waits until the footer shows the server's information and the network is quiet. Chromium asks
 * for the favicon after the load event; navigating away while that is in flight aborts it and
 * would count as a failed request.
 */
export async function waitForServerInfo(page) {
  await page.locator("footer .about:not([hidden])").waitFor();
  await page.waitForLoadState("networkidle");
}

/**
 * Fails on any problem recorded on `page`. `expectedResponses` lists the error responses the test
 * provoked on purpose, in order ("401 POST /api/v1/session/password"): exactly those must have
 * happened, and for each Chromium's own console line about it ("Failed to load resource: the
 * server responded with a status of 401") is allowed once. Anything else is a failure.
 */
export async function assertClean(page, problems, expectedResponses = []) {
  // The page's own list also holds any violation whose report is still on its way here.
  const inPage = await page.evaluate(() => window.__cspViolations);
  assert.deepEqual(inPage, [], "CSP violations in the current page");
  assert.deepEqual(problems.cspViolations, [], "CSP violations");
  assert.deepEqual(problems.errorResponses, expectedResponses, "responses with status >= 400");
  const origin = new URL(page.url()).origin;
  const consoleLines = [...problems.console];
  for (const expected of expectedResponses) {
    const [status, , path] = expected.split(" ");
    const line = `error: Failed to load resource: the server responded with a status of ${status} `;
    const index = consoleLines.findIndex((entry) => entry.startsWith(line) && entry.endsWith(` (${origin}${path})`));
    if (index >= 0) consoleLines.splice(index, 1);
  }
  assert.deepEqual(consoleLines, [], "console errors and warnings");
  assert.deepEqual(problems.pageErrors, [], "page errors");
  assert.deepEqual(problems.failedRequests, [], "failed requests");
}

/** Resolves after `ms`, without keeping the process alive for it. */
export function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Runs `trygg admin bootstrap` for the first administrator and returns what it printed: one JSON
 * line with `account_id`, `enrolment_url`, `token` and `expires_at_ms`.
 */
export async function bootstrapAdmin(bin, dataDir, { email, name }) {
  const result = await runTrygg(bin, ["admin", "bootstrap", "--data-dir", dataDir, "--email", email, "--name", name, "--json"]);
  assert.equal(result.code, 0, `admin bootstrap failed\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  const lines = result.stdout.split("\n").filter((line) => line.trim() !== "");
  assert.equal(lines.length, 1, `admin bootstrap --json prints one line, not:\n${result.stdout}`);
  const bootstrap = JSON.parse(lines[0]);
  assert.equal(typeof bootstrap.account_id, "string");
  assert.equal(typeof bootstrap.token, "string");
  assert.ok(bootstrap.token.length >= 16, "the enrolment token is long enough to be unguessable");
  assert.equal(new URL(bootstrap.enrolment_url).hash, `#${bootstrap.token}`, "the link carries the token in its fragment");
  assert.ok(bootstrap.expires_at_ms > Date.now(), "the link has not expired");
  return bootstrap;
}

/**
 * Enrols on the open enrolment page (Swedish) as its person would: reads the TOTP secret, sets
 * `password`, types the current code, keeps the recovery codes and continues to /account.
 * Returns the secret, the code typed (the server must never accept it again) and the codes.
 */
export async function enrol(page, password) {
  const secretBox = page.getByTestId("totp-secret");
  await secretBox.waitFor();
  const secret = await secretBox.getAttribute("data-secret");
  assert.match(secret, /^[A-Z2-7]{16,}=*$/);
  await page.getByLabel("Nytt lösenord").fill(password);
  const code = totp(base32Decode(secret), Date.now());
  await page.getByLabel("Kod från appen").fill(code);
  await page.getByRole("button", { name: "Aktivera kontot" }).click();
  const recoveryCodes = await keepRecoveryCodes(page);
  return { secret, code, recoveryCodes };
}

/**
 * The last step of enrolment: the recovery codes are shown once (and the secret is gone), focus
 * is on the new heading, and "Continue" works only once they are marked as saved. Returns them.
 */
export async function keepRecoveryCodes(page) {
  const codes = page.getByTestId("recovery-codes");
  await codes.waitFor();
  assert.equal(await page.locator("h1").textContent(), "Spara dina återställningskoder");
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), "H1", "focus moves to the new heading");
  const recoveryCodes = (await codes.locator("li").allTextContents()).map((entry) => entry.trim());
  assert.ok(recoveryCodes.length >= 3, `at least three recovery codes: ${recoveryCodes}`);
  assert.equal(new Set(recoveryCodes).size, recoveryCodes.length, "recovery codes are distinct");
  assert.equal(await page.getByTestId("totp-secret").count(), 0, "the secret is gone from the page");
  const proceed = page.getByRole("button", { name: "Fortsätt" });
  assert.equal(await proceed.isDisabled(), true);
  await page.getByLabel("Jag har sparat koderna").check();
  assert.equal(await proceed.isEnabled(), true);
  await proceed.click();
  await page.waitForURL(/\/account$/);
  return recoveryCodes;
}

/** RFC 4648 base32 (no padding needed) → bytes. */
export function base32Decode(encoded) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const bytes = [];
  for (const char of encoded.replace(/=+$/, "")) {
    const index = alphabet.indexOf(char);
    assert.ok(index >= 0, `not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}

/** RFC 6238 TOTP with HMAC-SHA1 and 30-second steps, at `timeMs`. */
export function totp(key, timeMs, digits = 6) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(timeMs / 1000 / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const number = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(number % 10 ** digits).padStart(digits, "0");
}

/** The virtualenv python with aiosmtpd, beside the binary's `debug/` directory. */
export function sinkPython(bin) {
  const python = process.env.TRYGG_SMTP_SINK_PYTHON || join(dirname(dirname(bin)), "smtp-venv", "bin", "python");
  assert.ok(existsSync(python), `the test SMTP server is not installed at ${python}: run \`cargo xtask smtp-sink\``);
  return python;
}

/** Starts web/tests/smtp-sink.py writing into `dir`; resolves with the child and its port. */
export async function startSink(python, dir) {
  const script = join(dirname(fileURLToPath(import.meta.url)), "smtp-sink.py");
  const child = spawn(python, [script, dir], { stdio: ["pipe", "pipe", "ignore"] });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the SMTP sink did not start within 30 s")), 30_000);
    createInterface({ input: child.stdout }).on("line", (line) => {
      const match = /^smtp-sink listening at 127\.0\.0\.1:(\d+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once("exit", () => reject(new Error("the SMTP sink exited")));
  });
  return { child, port };
}

/** The decoded summaries of the messages the sink has received, oldest first. */
export async function receivedMail(dir) {
  const names = (await readdir(dir)).filter((name) => name.endsWith(".eml")).sort();
  return Promise.all(
    names.map(async (name) => ({
      raw: await readFile(join(dir, name), "utf8"),
      summary: JSON.parse(await readFile(join(dir, name.replace(/\.eml$/, ".json")), "utf8")),
    })),
  );
}

/** Starts the test OpenID Provider (oidc-provider.mjs, its own HTTPS port); resolves with its issuer, CA file and child process. */
export async function startOidcProvider(dir) {
  const child = spawn(process.execPath, [new URL("./oidc-provider.mjs", import.meta.url).pathname, dir], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  const issuer = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the OpenID Provider did not start within 30 s")), 30_000);
    createInterface({ input: child.stdout }).on("line", (line) => {
      const match = /^oidc-provider listening at (https:\/\/\S+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the OpenID Provider exited with ${code}`));
    });
  });
  return { child, issuer, cert: join(dir, "cert.pem") };
}

/** The environment that points `trygg` at the test OpenID Provider as its customer e-ID broker. */
export function customerIdpEnv(provider) {
  return {
    TRYGG_CUSTOMER_IDP__ISSUER: provider.issuer,
    TRYGG_CUSTOMER_IDP__CLIENT_ID: "trygg-eid",
    TRYGG_CUSTOMER_IDP__CLIENT_SECRET: "eid-secret",
    TRYGG_CUSTOMER_IDP__CA_FILE: provider.cert,
    TRYGG_CUSTOMER_IDP__SCOPES: "openid,profile,eid",
    TRYGG_CUSTOMER_IDP__MFA_ACR_VALUES: "loa3",
  };
}

/**
 * The first administrator enrols from `bootstrap` and invites an adviser, who enrols too; resolves
 * with the adviser's watched page (signed in, on the account page).
 */
export async function enrolAdviser(browser, baseUrl, bootstrap, { email, name, password }) {
  const adminContext = await newContext(browser, baseUrl, "sv-SE");
  const adminPage = (await openWatchedPage(adminContext)).page;
  await adminPage.goto(`/enrol#${bootstrap.token}`);
  await enrol(adminPage, password);
  const adminSession = await (await adminPage.request.get("/api/v1/session")).json();
  const invited = await adminPage.request.post("/api/v1/accounts", {
    headers: { "X-CSRF-Token": adminSession.csrf_token },
    data: { email, display_name: name, roles: ["adviser"] },
  });
  assert.equal(invited.status(), 201, await invited.text());
  const { enrolment_path: enrolmentPath } = await invited.json();
  await adminContext.close();

  const adviserContext = await newContext(browser, baseUrl, "sv-SE");
  const adviser = await openWatchedPage(adviserContext);
  await adviser.page.goto(enrolmentPath);
  await enrol(adviser.page, password);
  return adviser;
}

/**
 * Books a meeting through the API as the signed-in adviser of `page`; resolves with its id. The
 * window starts `startsInMs` from now (a minute ago by default) and lasts `lengthMs`.
 */
export async function bookMeeting(page, { title = "Bolånesamtal", passcode = null, identityProof = false, startsInMs = -60_000, lengthMs = 3_600_000 } = {}) {
  const session = await (await page.request.get("/api/v1/session")).json();
  const now = Date.now();
  const response = await page.request.post("/api/v1/meetings", {
    headers: { "X-CSRF-Token": session.csrf_token },
    data: { title, starts_at_ms: now + startsInMs, ends_at_ms: now + startsInMs + lengthMs, passcode, identity_proof: identityProof },
  });
  assert.equal(response.status(), 201, await response.text());
  return (await response.json()).id;
}

/**
 * A customer's page at a meeting that needs no passcode, through consent and the device check
 * (fake camera and microphone) to knocking as `name`, in Swedish; resolves once they wait.
 */
export async function knockAtMeeting(page, meetingId, name) {
  await page.goto(`/m/${meetingId}`);
  await page.getByLabel(/Genomföra mötet/).check();
  await page.getByRole("button", { name: "Fortsätt" }).click();
  await page.locator("#device-result").getByText("Kameran och mikrofonen fungerar.").waitFor();
  await page.getByRole("button", { name: "Fortsätt" }).click();
  await page.getByLabel("Ditt namn").fill(name);
  await page.getByRole("button", { name: "Knacka på" }).click();
  await page.locator("#waiting-status").waitFor();
}

/**
 * `trygg demo` in a fresh data directory (`prefix` names it), Chromium with fake media, and an
 * enrolled adviser, signed in, who booked a meeting titled `title` that is open now and needs no
 * passcode. The pages use `https://localhost:PORT` (WebAuthn and WebRTC want a host name).
 */
export async function startWithAdviserAndMeeting(prefix, { title = "Bolånesamtal", env = {} } = {}) {
  const bin = tryggBin();
  const dataDir = await mkdtemp(join(tmpdir(), prefix));
  const server = await startServer(bin, dataDir, { env });
  const bootstrap = await bootstrapAdmin(bin, dataDir, { email: "ada.admin@example.se", name: "Ada Admin" });
  const url = new URL(server.baseUrl);
  url.hostname = "localhost";
  const browser = await launchBrowser({ media: true });
  const adviser = await enrolAdviser(browser, url.origin, bootstrap, {
    email: "rut.radgivare@example.se",
    name: "Rut Rådgivare",
    password: "ett långt lösenord för mötena",
  });
  await adviser.page.locator("table.sessions tbody tr").first().waitFor();
  const meetingId = await bookMeeting(adviser.page, { title });
  return { bin, dataDir, server, browser, baseUrl: url.origin, adviser, meetingId };
}
