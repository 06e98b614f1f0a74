// The SFrame worker (web/src/sframe/worker.ts, bundled as the build bundles it) in Debian's
// Chromium, one page, a worker per participant. Alice, Bob and Eve install epoch 1; Eve's secret
// is wrong. First synthetic VP8 and Opus frames go through the workers' stream path (the one
// `createEncodedStreams()` uses): Bob gets every frame back exactly, VP8's prefix stays clear on
// the way, and Eve decrypts nothing. Then the same workers run as `RTCRtpScriptTransform`s on
// real peer connections over loopback (canvas video forced to VP8, an oscillator through Opus):
// Bob's video decodes, also through a change to epoch 2, Eve's does not, and the workers' counters
// say why.
//
// It needs no trygg server: Playwright's request routing serves the page and the scripts on an
// https origin (WebCrypto needs a secure context), and nothing leaves the machine.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { chromium } from "playwright-core";
import { bundle } from "./sframe-bundle.mjs";
import { chromiumArgs, chromiumPath, testTimeoutMs } from "./support.mjs";

const origin = "https://sframe.test";

let browser;
let files;
before(async () => {
  const [worker, library] = await Promise.all([bundle("src/sframe/worker.ts", "iife"), bundle("src/sframe/index.ts", "esm")]);
  files = {
    "/": ["text/html", `<!doctype html><meta charset="utf-8"><title>SFrame</title><script type="module" src="/start.js"></script>`],
    "/start.js": ["text/javascript", `import * as SFrame from "/sframe.js"; globalThis.SFrame = SFrame; document.title = "ready";`],
    "/sframe.js": ["text/javascript", library],
    "/assets/sframe-worker.js": ["text/javascript", worker],
  };
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    // Loopback ICE, so peer connections inside one page connect on a machine without a network.
    args: [...chromiumArgs, "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns", "--autoplay-policy=no-user-gesture-required"],
  });
});
after(async () => browser?.close());

/** A page on the routed origin with `SFrame` (src/sframe/index.ts) loaded, and its problems. */
async function openPage() {
  const context = await browser.newContext();
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(String(error)));
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") problems.push(`${message.type()}: ${message.text()}`);
  });
  await context.route(`${origin}/**`, (route) => {
    const found = files[new URL(route.request().url()).pathname];
    return found ? route.fulfill({ status: 200, contentType: found[0], body: found[1] }) : route.fulfill({ status: 404, body: "" });
  });
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => document.title === "ready");
  assert.equal(await page.evaluate(() => window.isSecureContext), true);
  // Alice (leaf 0), Bob (leaf 1) share epoch 1's secret; Eve (leaf 2) installed another one.
  await page.evaluate(async () => {
    const participant = async (ownIndex, secretByte) => {
      const media = new SFrame.SFrameMedia(new Worker("/assets/sframe-worker.js"));
      await media.installEpoch({ epoch: 1n, baseKey: new Uint8Array(16).fill(secretByte), ownIndex, memberIndices: [0, 1, 2] });
      return media;
    };
    [window.alice, window.bob, window.eve] = await Promise.all([participant(0, 7), participant(1, 7), participant(2, 99)]);
  });
  return { context, page, problems };
}

describe("SFrame worker in Chromium", { timeout: testTimeoutMs * 2 }, () => {
  it("encrypts synthetic VP8 and Opus frames for Bob, leaves VP8's prefix clear, and Eve decrypts nothing", async () => {
    const { context, page, problems } = await openPage();
    const vp8Key = "b00f009d012a8002e00100112233445566778899aabbccddeeff";
    const vp8Delta = "31ab000102030405060708090a0b0c0d0e0f";
    const opus = "fcff0a0b0c0d0e0f10111213";
    const result = await page.evaluate(
      async ({ vp8Key, vp8Delta, opus }) => {
        const fromHex = (text) => Uint8Array.from(text.match(/../g), (pair) => parseInt(pair, 16)).buffer;
        const toHex = (buffer) => Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, "0")).join("");
        // Resolves with every frame that came out, once the worker has closed the writable.
        const run = (media, options, frames) =>
          new Promise((resolve, reject) => {
            const output = [];
            const readable = new ReadableStream({
              start(controller) {
                for (const data of frames) controller.enqueue({ data });
                controller.close();
              },
            });
            const writable = new WritableStream({ write: (frame) => void output.push(frame.data), close: () => resolve(output), abort: reject });
            media.transformStreams(readable, writable, options).catch(reject);
          });
        const video = [vp8Key, vp8Delta, vp8Delta, vp8Key].map(fromHex);
        const audio = [opus, opus, opus].map(fromHex);
        const sentVideo = await run(alice, { direction: "encrypt", codec: "vp8" }, video);
        const sentAudio = await run(alice, { direction: "encrypt", codec: "opus" }, audio);
        const copy = (frames) => frames.map((frame) => frame.slice(0));
        return {
          sentVideo: sentVideo.map(toHex),
          sentAudio: sentAudio.map(toHex),
          bobVideo: (await run(bob, { direction: "decrypt", codec: "vp8" }, copy(sentVideo))).map(toHex),
          bobAudio: (await run(bob, { direction: "decrypt", codec: "opus" }, copy(sentAudio))).map(toHex),
          eveVideo: (await run(eve, { direction: "decrypt", codec: "vp8" }, copy(sentVideo))).map(toHex),
          eveAudio: (await run(eve, { direction: "decrypt", codec: "opus" }, copy(sentAudio))).map(toHex),
          stats: { alice: await alice.stats(), bob: await bob.stats(), eve: await eve.stats() },
        };
      },
      { vp8Key, vp8Delta, opus },
    );

    assert.equal(result.sentVideo.length, 4);
    assert.equal(result.sentAudio.length, 3);
    // VP8: 10 bytes clear on a key frame, 1 on a delta frame, then the SFrame header: KID 0 (Alice,
    // epoch 1 -> (0 << 4) | 1 = 1) and CTR 0, 1, 2, ... shared by all of Alice's streams.
    assert.equal(result.sentVideo[0].slice(0, 20), vp8Key.slice(0, 20));
    assert.equal(result.sentVideo[0].slice(20, 22), "10");
    assert.equal(result.sentVideo[1].slice(0, 2), vp8Delta.slice(0, 2));
    assert.equal(result.sentVideo[1].slice(2, 4), "11");
    assert.notEqual(result.sentVideo[1].slice(4, 12), vp8Delta.slice(2, 10), "the rest is not clear");
    assert.equal(result.sentAudio[0].slice(0, 2), "14", "Opus starts with the header: KID 1, CTR 4");
    assert.equal(result.sentVideo[0].length / 2, vp8Key.length / 2 + 1 + 16);
    assert.deepEqual(result.bobVideo, [vp8Key, vp8Delta, vp8Delta, vp8Key]);
    assert.deepEqual(result.bobAudio, [opus, opus, opus]);
    assert.deepEqual(result.eveVideo, []);
    assert.deepEqual(result.eveAudio, []);
    assert.equal(result.stats.alice.vp8.encrypted, 4);
    assert.equal(result.stats.alice.opus.encrypted, 3);
    assert.equal(result.stats.bob.vp8.decrypted, 4);
    assert.equal(result.stats.eve.vp8.decrypted + result.stats.eve.opus.decrypted, 0);
    assert.equal(result.stats.eve.vp8.decryptFailed.authentication, 4);
    assert.equal(result.stats.eve.opus.decryptFailed.authentication, 3);
    await context.close();
    assert.deepEqual(problems, []);
  });

  it("runs as RTCRtpScriptTransform on a real call: Bob's VP8 video decodes, Eve's does not", async () => {
    const { context, page, problems } = await openPage();
    const result = await page.evaluate(async () => {
      // Canvas video that changes every frame, and a tone.
      const canvas = document.createElement("canvas");
      canvas.width = 320;
      canvas.height = 240;
      const paint = canvas.getContext("2d");
      let tick = 0;
      const painter = setInterval(() => {
        tick += 1;
        paint.fillStyle = `hsl(${(tick * 7) % 360} 80% 50%)`;
        paint.fillRect(0, 0, 320, 240);
        paint.fillStyle = "#fff";
        paint.fillRect(tick % 300, 100, 20, 20);
      }, 33);
      const [videoTrack] = canvas.captureStream(30).getVideoTracks();
      const audioContext = new AudioContext();
      const oscillator = audioContext.createOscillator();
      const destination = audioContext.createMediaStreamDestination();
      oscillator.connect(destination);
      oscillator.start();
      const [audioTrack] = destination.stream.getAudioTracks();

      // Alice -> receiver, over loopback, with SFrame on every sender and receiver.
      const call = async (receiverMedia) => {
        const sending = new RTCPeerConnection();
        const receiving = new RTCPeerConnection();
        sending.onicecandidate = (event) => event.candidate && receiving.addIceCandidate(event.candidate);
        receiving.onicecandidate = (event) => event.candidate && sending.addIceCandidate(event.candidate);
        receiving.ontrack = (event) => void receiverMedia.attachReceiver(event.receiver, event.track.kind === "video" ? "vp8" : "opus");
        const video = sending.addTransceiver(videoTrack, { direction: "sendonly" });
        const vp8 = RTCRtpReceiver.getCapabilities("video").codecs.filter((codec) => codec.mimeType === "video/VP8");
        video.setCodecPreferences(vp8);
        const audio = sending.addTransceiver(audioTrack, { direction: "sendonly" });
        await alice.attachSender(video.sender, "vp8");
        await alice.attachSender(audio.sender, "opus");
        await sending.setLocalDescription();
        await receiving.setRemoteDescription(sending.localDescription);
        await receiving.setLocalDescription();
        await sending.setRemoteDescription(receiving.localDescription);
        return receiving;
      };
      const toBob = await call(bob);
      const toEve = await call(eve);
      const inbound = async (pc, kind) => {
        const reports = [...(await pc.getStats()).values()];
        const rtp = reports.find((report) => report.type === "inbound-rtp" && report.kind === kind);
        const pair = reports.find((report) => report.type === "candidate-pair" && report.state === "succeeded");
        return { framesDecoded: rtp?.framesDecoded ?? 0, packetsReceived: rtp?.packetsReceived ?? 0, connected: pair !== undefined };
      };
      const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
      await sleep(3000);
      const first = { bob: await inbound(toBob, "video"), eve: await inbound(toEve, "video") };
      const beforeChange = await bob.stats();
      // A commit: epoch 2 with a new secret, installed by Alice and Bob at about the same time.
      const epoch2 = (ownIndex) => ({ epoch: 2n, baseKey: new Uint8Array(16).fill(8), ownIndex, memberIndices: [0, 1, 2] });
      await Promise.all([alice.installEpoch(epoch2(0)), bob.installEpoch(epoch2(1)), eve.installEpoch({ ...epoch2(2), baseKey: new Uint8Array(16).fill(98) })]);
      const changed = { bob: await inbound(toBob, "video") };
      await sleep(2000);
      const second = {
        bob: await inbound(toBob, "video"),
        eve: await inbound(toEve, "video"),
        eveAudio: await inbound(toEve, "audio"),
        bobAudio: await inbound(toBob, "audio"),
      };
      clearInterval(painter);
      const stats = { alice: await alice.stats(), bob: await bob.stats(), eve: await eve.stats() };
      for (const pc of [toBob, toEve]) pc.close();
      await audioContext.close();
      return { first, changed, second, stats, beforeChange };
    });

    assert.equal(result.second.bob.connected, true, "Bob's call connected over loopback");
    assert.equal(result.second.eve.connected, true, "Eve's call connected over loopback");
    assert.ok(result.first.bob.framesDecoded > 0, `Bob decodes video: ${JSON.stringify(result)}`);
    // Through the epoch change Bob loses at most about a second of frames, and keeps decoding.
    const failed = (stats) => Object.values(stats.vp8.decryptFailed).reduce((sum, count) => sum + count, 0);
    assert.equal(failed(result.beforeChange), 0, "no frame failed before the change");
    assert.ok(failed(result.stats.bob) <= 30, `at most a second of VP8 frames lost: ${JSON.stringify(result.stats.bob.vp8)}`);
    assert.ok(result.second.bob.framesDecoded >= result.changed.bob.framesDecoded + 30, "and keeps decoding after the change");
    assert.ok(result.second.eve.packetsReceived > 0, "Eve receives the packets");
    assert.equal(result.second.eve.framesDecoded, 0, "but decodes no frame");
    assert.ok(result.stats.alice.vp8.encrypted > 0 && result.stats.alice.opus.encrypted > 0);
    assert.ok(result.stats.bob.vp8.decrypted > 0 && result.stats.bob.opus.decrypted > 0);
    assert.equal(result.stats.eve.vp8.decrypted + result.stats.eve.opus.decrypted, 0);
    assert.ok(result.stats.eve.vp8.decryptFailed.authentication > 0 && result.stats.eve.opus.decryptFailed.authentication > 0);
    assert.equal(result.stats.alice.vp8.encryptFailed + result.stats.alice.opus.encryptFailed, 0);
    await context.close();
    assert.deepEqual(problems, []);
  });
});
