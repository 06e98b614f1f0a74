// TURN credentials against a real coturn (`turnserver` with `use-auth-secret`, started here on a
// loopback port): the adviser who enters her meeting gets relay credentials over the signalling
// socket, and Chromium allocates a relay with them (an ICE candidate of type `relay`); the same
// credentials with a forged password get no relay; a customer waiting in the lobby gets no
// credentials at all. The user name carries the expiry and a person number, not the meeting.
//
// Run it with TRYGG_BIN naming a built binary, e.g.
//   TRYGG_BIN=../target/debug/trygg npm test

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  assertClean,
  bookMeeting,
  bootstrapAdmin,
  delay,
  enrolAdviser,
  killServer,
  knockAtMeeting,
  launchBrowser,
  newContext,
  openWatchedPage,
  serverStartTimeoutMs,
  startServer,
  testTimeoutMs,
  tryggBin,
} from "./support.mjs";

const admin = { email: "ada.admin@example.se", name: "Ada Admin" };
const password = "ett långt lösenord för reläet";
const secret = "turn-test-secret-0123456789";

/** A free TCP port on loopback (coturn listens on UDP and TCP on it). */
async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts coturn on loopback with the REST-credential secret; resolves once it listens. */
async function startCoturn(dir, port) {
  const child = spawn(
    "turnserver",
    [
      "-n",
      "--listening-ip=127.0.0.1",
      "--relay-ip=127.0.0.1",
      `--listening-port=${port}`,
      "--min-port=49160",
      "--max-port=49260",
      "--use-auth-secret",
      `--static-auth-secret=${secret}`,
      "--realm=trygg.test",
      "--no-tls",
      "--no-dtls",
      "--no-cli",
      "--log-file=stdout",
      "--simple-log",
      `--pidfile=${join(dir, "turnserver.pid")}`,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk) => {
    output = (output + chunk).slice(-50_000);
  });
  for (let tries = 0; tries < 100; tries += 1) {
    if (/listener opened on|IPv4\. UDP listener opened|Total General servers/i.test(output)) break;
    if (child.exitCode !== null) throw new Error(`turnserver exited with ${child.exitCode}\n${output}`);
    await delay(100);
  }
  return { child, output: () => output };
}

/** The relay candidates Chromium gathers with `iceServers` (relay only), within five seconds. */
async function relayCandidates(page, iceServers) {
  return await page.evaluate(async (servers) => {
    const connection = new RTCPeerConnection({ iceServers: servers, iceTransportPolicy: "relay" });
    const found = [];
    connection.addEventListener("icecandidate", (event) => {
      if (event.candidate?.candidate) found.push(event.candidate.candidate);
    });
    connection.createDataChannel("probe");
    await connection.setLocalDescription(await connection.createOffer());
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, 5_000);
      connection.addEventListener("icegatheringstatechange", () => {
        if (connection.iceGatheringState === "complete") {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    connection.close();
    return found.filter((candidate) => / typ relay /.test(candidate));
  }, iceServers);
}

describe("TURN REST credentials against a real coturn", () => {
  let coturn;
  let dir;
  let server;
  let browser;
  let baseUrl;
  let adviser;
  let meetingId;
  const received = new Map();

  /** Records the `ice_servers` messages a page's signalling socket receives. */
  function watchIceServers(page, who) {
    page.on("websocket", (socket) => {
      socket.on("framereceived", ({ payload }) => {
        try {
          const message = JSON.parse(String(payload));
          if (message.type === "ice_servers") received.set(who, message.servers);
        } catch {
          // Not JSON: not ours to read.
        }
      });
    });
  }

  before(
    async () => {
      dir = await mkdtemp(join(tmpdir(), "trygg-web-turn-"));
      const port = await freePort();
      coturn = await startCoturn(dir, port);
      const bin = tryggBin();
      server = await startServer(bin, dir, {
        env: { TRYGG_TURN__URLS: `turn:127.0.0.1:${port}?transport=udp`, TRYGG_TURN__SHARED_SECRET: secret, TRYGG_TURN__CREDENTIAL_TTL_SECS: "3600" },
      });
      const bootstrap = await bootstrapAdmin(bin, dir, admin);
      const url = new URL(server.baseUrl);
      url.hostname = "localhost";
      baseUrl = url.origin;
      browser = await launchBrowser({ media: true });
      adviser = await enrolAdviser(browser, baseUrl, bootstrap, { email: "rut.radgivare@example.se", name: "Rut Rådgivare", password });
      await adviser.page.locator("table.sessions tbody tr").first().waitFor();
      meetingId = await bookMeeting(adviser.page, { title: "Reläsamtal" });
    },
    { timeout: serverStartTimeoutMs + 90_000 },
  );

  after(async () => {
    await browser?.close().catch(() => {});
    killServer(server);
    coturn?.child.kill("SIGKILL");
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("gives someone in the meeting credentials coturn accepts, and forged ones get no relay", { timeout: testTimeoutMs }, async () => {
    watchIceServers(adviser.page, "adviser");
    await adviser.page.goto(`/meetings/${meetingId}/room`);
    await adviser.page.locator(".room").waitFor();
    for (let tries = 0; tries < 50 && !received.has("adviser"); tries += 1) await delay(100);
    const servers = received.get("adviser");
    assert.equal(servers?.length, 1, "relay credentials arrived on entering");
    const [relay] = servers;
    assert.match(relay.username, /^\d{10}:p\d+$/, "expiry and a person number, nothing of the meeting");
    assert.ok(!relay.username.includes(meetingId));
    const expiresInS = Number(relay.username.split(":")[0]) - Date.now() / 1000;
    assert.ok(expiresInS > 3_500 && expiresInS <= 3_600, `valid for the configured hour, not ${expiresInS} s`);

    const iceServers = [{ urls: relay.urls, username: relay.username, credential: relay.credential }];
    const candidates = await relayCandidates(adviser.page, iceServers);
    assert.ok(candidates.length > 0, `coturn allocated a relay\n${coturn.output().slice(-2_000)}`);

    const forged = [{ ...iceServers[0], credential: Buffer.from("not the right password").toString("base64") }];
    assert.deepEqual(await relayCandidates(adviser.page, forged), [], "a forged password gets no relay");
    const stretched = [{ ...iceServers[0], username: `${Number(relay.username.split(":")[0]) + 86_400}:${relay.username.split(":")[1]}` }];
    assert.deepEqual(await relayCandidates(adviser.page, stretched), [], "nor does a later expiry with the same password");
    await assertClean(adviser.page, adviser.problems);
  });

  it("gives no credentials to someone waiting in the lobby", { timeout: testTimeoutMs }, async () => {
    const guest = await openWatchedPage(await newContext(browser, baseUrl, "sv-SE"));
    watchIceServers(guest.page, "guest");
    await knockAtMeeting(guest.page, meetingId, "Karin Kund");
    await delay(500);
    assert.equal(received.has("guest"), false);
    await assertClean(guest.page, guest.problems);
  });
});
