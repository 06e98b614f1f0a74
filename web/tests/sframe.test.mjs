// The browser's SFrame code (web/src/sframe), run in node with node's WebCrypto: the RFC 9605
// Appendix C test vectors (C.1 headers, C.2 AES-CTR + HMAC, C.3 SFrame for suites 0x0001-0x0005)
// from tests/data/rfc9605-vectors.json, then what the RFC leaves to us: strict header decoding,
// counters that never repeat, anti-replay, one direction per key, KIDs from MLS epochs (§5.2),
// keeping the previous epoch for a second, and the VP8/Opus frame layout.
//
// It needs no server and no browser: it bundles src/sframe/index.ts with esbuild into a temporary
// file and imports that. Time is passed in, so nothing here waits. The same transform in a real
// worker in Chromium is tested by sframe-browser.test.mjs.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { importSFrame } from "./sframe-bundle.mjs";

const vectors = JSON.parse(await readFile(new URL("./data/rfc9605-vectors.json", import.meta.url), "utf8"));
const hex = (text) => Uint8Array.from(Buffer.from(text, "hex"));
const toHex = (bytes) => Buffer.from(bytes).toString("hex");
const suiteName = (id) => `0x${id.toString(16).padStart(4, "0")}`;

let sframe;
let cleanup;
before(async () => {
  ({ sframe, cleanup } = await importSFrame());
});
after(async () => cleanup?.());

describe("RFC 9605 C.1 header encoding and decoding", () => {
  it(`encodes and decodes all ${vectors.header.length} vectors`, () => {
    assert.equal(vectors.header.length, 289);
    for (const vector of vectors.header) {
      const kid = BigInt(vector.kid);
      const ctr = BigInt(vector.ctr);
      assert.equal(toHex(sframe.encodeHeader(kid, ctr)), vector.header, `encode kid ${vector.kid} ctr ${vector.ctr}`);
      const decoded = sframe.decodeHeader(hex(vector.header + "abcdef"));
      assert.deepEqual(decoded, { kid, ctr, length: vector.header.length / 2 }, `decode ${vector.header}`);
    }
  });

  it("refuses truncated, empty and non-minimal headers", () => {
    for (const bad of ["", "08", "0901", "80", "90ff", "0f01", "8001", "0800", "090001", "900001", "88ff"]) {
      assert.throws(() => sframe.decodeHeader(hex(bad)), sframe.SFrameHeaderError, `header ${bad || "(empty)"}`);
    }
    assert.throws(() => sframe.encodeHeader(-1n, 0n), RangeError);
    assert.throws(() => sframe.encodeHeader(0n, 1n << 64n), RangeError);
  });
});

describe("RFC 9605 C.2 AEAD with AES-CTR and HMAC", () => {
  for (const vector of vectors.aes_ctr_hmac) {
    it(`suite ${vector.cipher_suite}: encrypts to ct, decrypts to pt, refuses a changed tag`, async () => {
      const suite = sframe.cipherSuite(Number(vector.cipher_suite));
      assert.equal(toHex(hex(vector.key).subarray(0, suite.nka)), vector.enc_key);
      assert.equal(toHex(hex(vector.key).subarray(suite.nka)), vector.auth_key);
      const aead = await sframe.importAead(suite, hex(vector.key));
      const ct = await aead.seal(hex(vector.nonce), hex(vector.aad), hex(vector.pt));
      assert.equal(toHex(ct), vector.ct);
      assert.equal(toHex(await aead.open(hex(vector.nonce), hex(vector.aad), hex(vector.ct))), vector.pt);
      const forged = hex(vector.ct);
      forged[forged.length - 1] ^= 1;
      assert.equal(await aead.open(hex(vector.nonce), hex(vector.aad), forged), null);
      assert.equal(await aead.open(hex(vector.nonce), hex("00"), hex(vector.ct)), null, "other AAD");
    });
  }
});

describe("RFC 9605 C.3 SFrame encryption and decryption", () => {
  for (const vector of vectors.sframe) {
    it(`suite ${vector.cipher_suite}: key, salt, nonce, ciphertext and plaintext`, async () => {
      const suite = sframe.cipherSuite(Number(vector.cipher_suite));
      const kid = BigInt(vector.kid);
      const ctr = BigInt(vector.ctr);
      const baseKey = hex(vector.base_key);
      const { key, salt } = await sframe.deriveKeySalt(suite, kid, baseKey);
      assert.equal(toHex(key), vector.sframe_key);
      assert.equal(toHex(salt), vector.sframe_salt);
      // The labels as the RFC spells them: "SFrame 1.0 Secret key " + KID (8 bytes) + suite (2).
      const label = (prefix) => toHex(Buffer.concat([Buffer.from(prefix), hex(vector.kid.slice(2)), hex(vector.cipher_suite.slice(2))]));
      assert.equal(label("SFrame 1.0 Secret key "), vector.sframe_key_label);
      assert.equal(label("SFrame 1.0 Secret salt "), vector.sframe_salt_label);

      const keys = await sframe.frameKeys(suite, kid, baseKey);
      assert.equal(toHex(sframe.frameNonce(keys, ctr)), vector.nonce);
      assert.equal(toHex(Buffer.concat([sframe.encodeHeader(kid, ctr), hex(vector.metadata)])), vector.aad);
      const ct = await sframe.sealFrame(keys, kid, ctr, hex(vector.metadata), hex(vector.pt));
      assert.equal(toHex(ct), vector.ct);

      // A receiving context with base_key assigned to kid opens it, once.
      const receiver = new sframe.SFrameContext({ suite });
      await receiver.addDecryptionKey(kid, baseKey);
      const opened = await receiver.decrypt(hex(vector.ct), hex(vector.metadata));
      assert.equal(opened.ok, true);
      assert.equal(toHex(opened.plaintext), vector.pt);
      assert.deepEqual([opened.kid, opened.ctr], [kid, ctr]);
      assert.deepEqual(await receiver.decrypt(hex(vector.ct), hex(vector.metadata)), { ok: false, reason: "replay" });
    });
  }
});

describe("SFrameContext", () => {
  const baseKey = hex("000102030405060708090a0b0c0d0e0f");
  const otherKey = hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");

  it("uses AES_128_GCM_SHA256_128 by default and numbers frames from 0", async () => {
    const sender = new sframe.SFrameContext();
    assert.equal(suiteName(sender.suite.id), "0x0004");
    await sender.setEncryptionKey(0x12n, baseKey);
    const receiver = new sframe.SFrameContext();
    await receiver.addDecryptionKey(0x12n, baseKey);
    for (let ctr = 0n; ctr < 10n; ctr += 1n) {
      const frame = new TextEncoder().encode(`frame ${ctr}`);
      const protectedFrame = await sender.encrypt(frame, hex("aa"));
      assert.deepEqual(sframe.decodeHeader(protectedFrame), { kid: 0x12n, ctr, length: sframe.encodeHeader(0x12n, ctr).length });
      const result = await receiver.decrypt(protectedFrame, hex("aa"));
      assert.equal(result.ok, true);
      assert.deepEqual(result.plaintext, frame);
    }
  });

  it("refuses to encrypt without a key and past the last counter, and never goes back", async () => {
    const sender = new sframe.SFrameContext();
    await assert.rejects(sender.encrypt(hex("00")), (error) => error.reason === "no-key");
    await sender.setEncryptionKey(1n, baseKey);
    sender.advanceCounter(1n, sframe.MAX_U64);
    const last = await sender.encrypt(hex("00"));
    assert.equal(sframe.decodeHeader(last).ctr, sframe.MAX_U64);
    await assert.rejects(sender.encrypt(hex("00")), (error) => error.reason === "counter-exhausted");
    assert.throws(() => sender.advanceCounter(1n, 5n), RangeError);
    // Setting the same KID again continues its counter instead of starting at 0.
    const again = new sframe.SFrameContext();
    await again.setEncryptionKey(2n, baseKey);
    await again.encrypt(hex("00"));
    await again.setEncryptionKey(3n, otherKey);
    await again.setEncryptionKey(2n, baseKey);
    assert.equal(sframe.decodeHeader(await again.encrypt(hex("00"))).ctr, 1n);
  });

  it("gives concurrent encryptions distinct counters", async () => {
    const sender = new sframe.SFrameContext();
    await sender.setEncryptionKey(7n, baseKey);
    const frames = await Promise.all(Array.from({ length: 50 }, () => sender.encrypt(hex("0102"))));
    const counters = new Set(frames.map((frame) => sframe.decodeHeader(frame).ctr));
    assert.equal(counters.size, 50);
  });

  it("counts wrong key, unknown KID, changed metadata, malformed and replayed frames as failures", async () => {
    const sender = new sframe.SFrameContext();
    await sender.setEncryptionKey(5n, baseKey);
    const frame = await sender.encrypt(hex("cafe"), hex("01"));
    const wrong = new sframe.SFrameContext();
    await wrong.addDecryptionKey(5n, otherKey);
    assert.deepEqual(await wrong.decrypt(frame, hex("01")), { ok: false, reason: "authentication" });
    const receiver = new sframe.SFrameContext();
    assert.deepEqual(await receiver.decrypt(frame, hex("01")), { ok: false, reason: "unknown-key" });
    await receiver.addDecryptionKey(5n, baseKey);
    assert.deepEqual(await receiver.decrypt(frame, hex("02")), { ok: false, reason: "authentication" });
    assert.deepEqual(await receiver.decrypt(hex(""), hex("01")), { ok: false, reason: "malformed" });
    assert.deepEqual(await receiver.decrypt(hex("08"), hex("01")), { ok: false, reason: "malformed" });
    assert.deepEqual(await receiver.decrypt(frame.subarray(0, 5), hex("01")), { ok: false, reason: "authentication" });
    assert.equal((await receiver.decrypt(frame, hex("01"))).ok, true, "a failed attempt does not burn the counter");
    assert.deepEqual(await receiver.decrypt(frame, hex("01")), { ok: false, reason: "replay" });
    receiver.removeDecryptionKey(5n);
    assert.deepEqual(await receiver.decrypt(frame, hex("01")), { ok: false, reason: "unknown-key" });
  });

  it("accepts reordering within the window and refuses frames older than it", async () => {
    const sender = new sframe.SFrameContext();
    await sender.setEncryptionKey(9n, baseKey);
    const frames = [];
    for (let index = 0; index < 20; index += 1) frames.push(await sender.encrypt(hex("00")));
    const receiver = new sframe.SFrameContext({ replayWindow: 8 });
    await receiver.addDecryptionKey(9n, baseKey);
    const reasons = [];
    for (const index of [3, 1, 2, 19, 12, 11, 3, 19]) {
      const result = await receiver.decrypt(frames[index]);
      reasons.push(result.ok ? "ok" : result.reason);
    }
    assert.deepEqual(reasons, ["ok", "ok", "ok", "ok", "ok", "too-old", "too-old", "replay"]);
    // The same CTR twice at once: only one of them gets through.
    const twice = await Promise.all([receiver.decrypt(frames[15]), receiver.decrypt(frames[15])]);
    assert.deepEqual(twice.map((result) => result.ok).sort(), [false, true]);
  });

  it("keeps a base key to one direction", async () => {
    const context = new sframe.SFrameContext();
    await context.setEncryptionKey(1n, baseKey);
    assert.throws(() => context.addDecryptionKey(1n, baseKey), RangeError);
    await context.addDecryptionKey(2n, baseKey);
    await assert.rejects(context.setEncryptionKey(2n, baseKey), RangeError);
    assert.throws(() => context.addDecryptionKey(3n, hex("0001")), RangeError, "a 2-byte base key");
  });
});

describe("KIDs from MLS epochs (RFC 9605 §5.2)", () => {
  it("puts the epoch's low E bits below the sender index (the RFC's Figure 9, E = 4)", () => {
    const e = 4;
    assert.equal(sframe.kidFor(14, 3, e), 0x3en);
    assert.equal(sframe.kidFor(14, 7, e), 0x7en);
    assert.equal(sframe.kidFor(14, 20, e), 0x14en);
    assert.equal(sframe.kidFor(15, 3, e), 0x3fn);
    assert.equal(sframe.kidFor(15, 5, e), 0x5fn);
    assert.equal(sframe.kidFor(17, 33, e), 0x211n);
    assert.equal(sframe.kidFor(17, 51, e), 0x331n);
    // With a context value above S = 6 index bits.
    assert.equal(sframe.kidFor(16, 2, e, { context: 2n, indexBits: 6 }), 0x820n);
    assert.equal(sframe.kidFor(16, 2, e, { context: 3n, indexBits: 6 }), 0xc20n);
  });

  it("wraps the epoch, keeps leaf indices apart and splits back", () => {
    assert.equal(sframe.kidFor(16n, 0, 4), 0n);
    assert.equal(sframe.kidFor((1n << 63n) + 5n, 1, 4), 0x15n);
    assert.equal(sframe.kidFor(3, 0xffff_ffff, 8), 0xffff_ffff03n);
    assert.deepEqual(sframe.splitKid(0x14en, 4), { epochLowBits: 0xen, senderIndex: 20n });
    assert.notEqual(sframe.kidFor(1, 1, 4), sframe.kidFor(1, 2, 4));
    assert.throws(() => sframe.kidFor(1, -1, 4), RangeError);
    assert.throws(() => sframe.kidFor(1, 1.5, 4), RangeError);
    assert.throws(() => sframe.kidFor(1, 1, 0), RangeError);
    assert.throws(() => sframe.kidFor(1, 64, 4, { context: 1n, indexBits: 6 }), RangeError);
    assert.throws(() => sframe.kidFor(1, 1, 4, { context: 1n }), RangeError);
  });
});

describe("SFrameEpochKeys", () => {
  const secret = (byte) => new Uint8Array(16).fill(byte);
  const members = [0, 1, 2];
  async function participant(index) {
    const context = new sframe.SFrameContext();
    return { context, epochs: new sframe.SFrameEpochKeys(context), index };
  }
  const install = (member, epoch, now, indices = members) =>
    member.epochs.installEpoch({ epoch: BigInt(epoch), baseKey: secret(epoch), ownIndex: member.index, memberIndices: indices }, now);

  it("lets each member decrypt the others, and keeps the previous epoch for one second", async () => {
    const alice = await participant(0);
    const bob = await participant(1);
    await Promise.all([install(alice, 1, 0), install(bob, 1, 0)]);
    assert.equal(alice.context.encryptionKid, sframe.kidFor(1, 0, 4));
    const inFlight = await alice.context.encrypt(hex("01"));
    assert.equal((await bob.context.decrypt(inFlight)).ok, true);
    assert.equal((await bob.context.decrypt(await bob.context.encrypt(hex("02")))).ok, false, "not its own key");

    // Epoch 2 at t = 10 s: Alice sends under it at once; Bob still plays epoch 1 frames for 1 s.
    const late = await alice.context.encrypt(hex("03"));
    await Promise.all([install(alice, 2, 10_000), install(bob, 2, 10_000)]);
    assert.equal(alice.context.encryptionKid, sframe.kidFor(2, 0, 4));
    assert.deepEqual(bob.epochs.acceptedEpochs, [1n, 2n]);
    assert.equal((await bob.context.decrypt(await alice.context.encrypt(hex("04")))).ok, true);
    bob.epochs.expire(10_999);
    assert.equal((await bob.context.decrypt(late)).ok, true, "epoch 1 still accepted after 999 ms");
    const later = await alice.context.encrypt(hex("05"));
    bob.epochs.expire(11_000);
    assert.deepEqual(bob.epochs.acceptedEpochs, [2n]);
    assert.equal((await bob.context.decrypt(later)).ok, true);
    assert.deepEqual(await bob.context.decrypt(inFlight), { ok: false, reason: "unknown-key" });
  });

  it("drops an old epoch at once when a new one has the same low bits, and refuses going back", async () => {
    const bob = await participant(1);
    await install(bob, 1, 0);
    await install(bob, 17, 5); // 17 mod 16 = 1: epoch 1 must go now, not after a second.
    assert.deepEqual(bob.epochs.acceptedEpochs, [17n]);
    await assert.rejects(install(bob, 16, 6), RangeError);
    await assert.rejects(install(bob, 17, 6), RangeError);
    assert.equal(bob.epochs.currentEpoch, 17n);
  });

  it("starts over when the MLS group starts afresh: earlier keys go at once", async () => {
    const alice = await participant(0);
    const bob = await participant(1);
    await Promise.all([install(alice, 3, 0), install(bob, 3, 0)]);
    const old = await alice.context.encrypt(hex("0a"));
    // A new group (the only host lost the old one): epochs begin again, with new secrets.
    const restart = (member) =>
      member.epochs.installEpoch({ epoch: 1n, baseKey: secret(99), ownIndex: member.index, memberIndices: members, restart: true }, 10);
    await Promise.all([restart(alice), restart(bob)]);
    assert.deepEqual(bob.epochs.acceptedEpochs, [1n], "nothing of the old group stays, not even for a second");
    assert.deepEqual(await bob.context.decrypt(old), { ok: false, reason: "unknown-key" });
    assert.equal((await bob.context.decrypt(await alice.context.encrypt(hex("0b")))).ok, true);
  });

  it("removes a member: their next-epoch KID is unknown, others still decrypt", async () => {
    const alice = await participant(0);
    const carol = await participant(2);
    await Promise.all([install(alice, 3, 0), install(carol, 3, 0)]);
    await install(alice, 4, 100, [0, 1]); // Carol (leaf 2) was removed in epoch 4.
    const frame = await alice.context.encrypt(hex("09"));
    assert.deepEqual(await carol.context.decrypt(frame), { ok: false, reason: "unknown-key" });
    const bob = await participant(1);
    await install(bob, 4, 100, [0, 1]);
    assert.equal((await bob.context.decrypt(frame)).ok, true);
    assert.equal(alice.context.hasDecryptionKey(sframe.kidFor(4, 2, 4)), false);
  });
});

describe("VP8 and Opus frames", () => {
  const baseKey = hex("00112233445566778899aabbccddeeff");
  const vp8KeyFrame = hex("b00f00" + "9d012a" + "80020e01" + "00112233445566778899"); // P bit 0: key frame
  const vp8DeltaFrame = hex("31ab00" + "0102030405060708090a0b0c");
  const opusFrame = hex("fcff" + "0a0b0c0d0e0f10111213");

  async function pair(wrongKey = false) {
    const sender = new sframe.SFrameContext();
    await sender.setEncryptionKey(0x10n, baseKey);
    const receiver = new sframe.SFrameContext();
    await receiver.addDecryptionKey(0x10n, wrongKey ? hex("ffeeddccbbaa99887766554433221100") : baseKey);
    return { sender, receiver };
  }

  it("leaves a VP8 key frame's first 10 bytes and a delta frame's first byte clear, Opus none", async () => {
    const { sender, receiver } = await pair();
    for (const [codec, frame, clear] of [["vp8", vp8KeyFrame, 10], ["vp8", vp8DeltaFrame, 1], ["opus", opusFrame, 0]]) {
      assert.equal(sframe.clearPrefixLength(codec, frame), clear);
      const out = await sframe.protectFrame(sender, codec, frame);
      assert.deepEqual(out.subarray(0, clear), frame.subarray(0, clear), `${codec}: prefix clear`);
      const header = sframe.decodeHeader(out.subarray(clear));
      assert.equal(header.kid, 0x10n);
      assert.equal(out.length, frame.length + header.length + 16, `${codec}: header and a 16-byte tag added`);
      assert.notDeepEqual(out.subarray(clear + header.length, clear + header.length + 4), frame.subarray(clear, clear + 4));
      const back = await sframe.unprotectFrame(receiver, codec, out);
      assert.equal(back.ok, true);
      assert.deepEqual(back.plaintext, frame);
      // The clear prefix is authenticated: changing it fails.
      if (clear > 1) {
        const changed = out.slice();
        changed[clear - 1] ^= 1;
        assert.equal((await sframe.unprotectFrame(receiver, codec, changed)).ok, false);
      }
    }
  });

  it("runs frames through the transform stream, dropping and counting what fails", async () => {
    const { sender, receiver } = await pair();
    const wrong = (await pair(true)).receiver;
    const stats = { sender: sframe.emptyStats(), receiver: sframe.emptyStats(), wrong: sframe.emptyStats() };
    const frames = [vp8KeyFrame, vp8DeltaFrame, vp8DeltaFrame].map((data) => ({ data: data.slice().buffer, type: "video" }));
    const run = async (stream, input) => {
      const output = [];
      await ReadableStream.from(input).pipeThrough(stream).pipeTo(new WritableStream({ write: (frame) => void output.push(frame) }));
      return output;
    };
    const encrypted = await run(sframe.sframeTransformStream(sender, { direction: "encrypt", codec: "vp8" }, stats.sender), frames);
    assert.equal(encrypted.length, 3);
    const copies = () => encrypted.map((frame) => ({ ...frame, data: frame.data.slice(0) }));
    const decrypted = await run(sframe.sframeTransformStream(receiver, { direction: "decrypt", codec: "vp8" }, stats.receiver), copies());
    assert.deepEqual(decrypted.map((frame) => new Uint8Array(frame.data)), [vp8KeyFrame, vp8DeltaFrame, vp8DeltaFrame]);
    const none = await run(sframe.sframeTransformStream(wrong, { direction: "decrypt", codec: "vp8" }, stats.wrong), copies());
    assert.equal(none.length, 0, "a wrong key decrypts nothing");
    assert.equal(stats.sender.vp8.encrypted, 3);
    assert.equal(stats.receiver.vp8.decrypted, 3);
    assert.equal(stats.wrong.vp8.decrypted, 0);
    assert.equal(stats.wrong.vp8.decryptFailed.authentication, 3);

    // Without a key nothing goes out, not even in the clear.
    const keyless = new sframe.SFrameContext();
    const keylessStats = sframe.emptyStats();
    const sent = await run(sframe.sframeTransformStream(keyless, { direction: "encrypt", codec: "opus" }, keylessStats), [{ data: opusFrame.slice().buffer }]);
    assert.equal(sent.length, 0);
    assert.equal(keylessStats.opus.encryptFailed, 1);
  });
});
