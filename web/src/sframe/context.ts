//! An SFrame context (RFC 9605 Appendix A): one encryption key with its counter, any number of
//! decryption keys by KID, each with an anti-replay window. `encrypt` numbers frames 0, 1, 2, …
//! per KID and refuses to go past 2^64-1, so a (key, nonce) pair is never used twice; a KID's
//! counter carries on, never restarts, if the same KID is set again in this context.
//!
//! `decrypt` never throws: every failure comes back as a reason (malformed header, unknown KID,
//! replay, too old, authentication) for the caller to count. A base key is used for encryption or
//! for decryption, never both (§4.4.1). Which KIDs exist and when they change is the caller's
//! business (see `mls.ts`); this file does no timing and keeps no clock.

import { type Bytes, MAX_U64, copyBytes } from "./bytes";
import { type FrameKeys, frameKeys, openFrame, sealFrame } from "./crypto";
import { decodeHeader } from "./header";
import { ReplayWindow } from "./replay";
import { type CipherSuite, MEDIA_CIPHER_SUITE } from "./suites";

export type DecryptFailure = "malformed" | "unknown-key" | "replay" | "too-old" | "authentication";

export type DecryptResult =
  | { readonly ok: true; readonly plaintext: Bytes; readonly kid: bigint; readonly ctr: bigint }
  | { readonly ok: false; readonly reason: DecryptFailure };

/** Why an encryption was refused. */
export class SFrameEncryptError extends Error {
  override readonly name = "SFrameEncryptError";

  constructor(readonly reason: "no-key" | "counter-exhausted", message: string) {
    super(message);
  }
}

export interface SFrameContextOptions {
  readonly suite?: CipherSuite;
  /** How many CTR values below the highest one seen are still accepted once each. */
  readonly replayWindow?: number;
}

const MIN_BASE_KEY_LENGTH = 16;

/** Per KID, 1024 counters back: audio and video of one sender share a KID and a counter. */
export const DEFAULT_REPLAY_WINDOW = 1024;

interface DecryptionKey {
  readonly keys: Promise<FrameKeys>;
  readonly window: ReplayWindow;
}

export class SFrameContext {
  readonly suite: CipherSuite;
  readonly #replayWindow: number;
  #encryption: { readonly kid: bigint; readonly keys: FrameKeys } | null = null;
  /** Incremented by every `setEncryptionKey`, so a slower earlier call cannot win. */
  #encryptionGeneration = 0;
  /** The next CTR per KID ever used for encryption here; never reset, never lowered. */
  readonly #nextCounter = new Map<bigint, bigint>();
  readonly #decryption = new Map<bigint, DecryptionKey>();

  constructor(options: SFrameContextOptions = {}) {
    this.suite = options.suite ?? MEDIA_CIPHER_SUITE;
    this.#replayWindow = options.replayWindow ?? DEFAULT_REPLAY_WINDOW;
    // Fail now rather than on the first frame.
    new ReplayWindow(this.#replayWindow);
  }

  /** The KID frames are encrypted under, or null before the first key. */
  get encryptionKid(): bigint | null {
    return this.#encryption?.kid ?? null;
  }

  /** Encrypts from now on under `kid`, with keys derived from `baseKey`. */
  async setEncryptionKey(kid: bigint, baseKey: Uint8Array): Promise<void> {
    this.#checkBaseKey(baseKey);
    if (this.#decryption.has(kid)) throw new RangeError(`KID ${kid} is a decryption key here; a base key is for one direction only`);
    const generation = ++this.#encryptionGeneration;
    const keys = await frameKeys(this.suite, kid, baseKey);
    if (generation !== this.#encryptionGeneration) return;
    this.#encryption = { kid, keys };
    if (!this.#nextCounter.has(kid)) this.#nextCounter.set(kid, 0n);
  }

  /** Stops encrypting: `encrypt` refuses until a new key is set. Counters are kept. */
  clearEncryptionKey(): void {
    this.#encryptionGeneration += 1;
    this.#encryption = null;
  }

  /** Accepts frames under `kid`, replacing (with a fresh replay window) any key it had. */
  addDecryptionKey(kid: bigint, baseKey: Uint8Array): Promise<void> {
    this.#checkBaseKey(baseKey);
    if (this.#encryption?.kid === kid) throw new RangeError(`KID ${kid} is this context's encryption key; a base key is for one direction only`);
    const keys = frameKeys(this.suite, kid, copyBytes(baseKey));
    this.#decryption.set(kid, { keys, window: new ReplayWindow(this.#replayWindow) });
    // A failed derivation must not stay behind as a key that fails every frame.
    keys.catch(() => {
      if (this.#decryption.get(kid)?.keys === keys) this.#decryption.delete(kid);
    });
    return keys.then(() => undefined);
  }

  removeDecryptionKey(kid: bigint): void {
    this.#decryption.delete(kid);
  }

  hasDecryptionKey(kid: bigint): boolean {
    return this.#decryption.has(kid);
  }

  /**
   * Skips this KID's counter forward to `next` (it can never go back, so no nonce repeats). For
   * tests of counter exhaustion and for resuming a stored context (RFC 9605 §9.1).
   */
  advanceCounter(kid: bigint, next: bigint): void {
    const current = this.#nextCounter.get(kid) ?? 0n;
    if (next < current) throw new RangeError(`the counter of KID ${kid} is at ${current} and cannot go back to ${next}`);
    this.#nextCounter.set(kid, next);
  }

  /** header || ciphertext for `frame`, with `metadata` authenticated but not included. */
  encrypt(frame: Uint8Array, metadata: Uint8Array = new Uint8Array(0)): Promise<Bytes> {
    const encryption = this.#encryption;
    if (encryption === null) return Promise.reject(new SFrameEncryptError("no-key", "no SFrame encryption key is set"));
    const ctr = this.#nextCounter.get(encryption.kid) ?? 0n;
    if (ctr > MAX_U64) {
      return Promise.reject(new SFrameEncryptError("counter-exhausted", `the counter of KID ${encryption.kid} is exhausted; set a new key`));
    }
    // Taken before any await, so concurrent calls can never share a CTR.
    this.#nextCounter.set(encryption.kid, ctr + 1n);
    return sealFrame(encryption.keys, encryption.kid, ctr, metadata, frame);
  }

  /** The plaintext of `sframe` with `metadata` as the caller's part of the AAD, or why not. */
  async decrypt(sframe: Uint8Array, metadata: Uint8Array = new Uint8Array(0)): Promise<DecryptResult> {
    try {
      let header;
      try {
        header = decodeHeader(sframe);
      } catch {
        return { ok: false, reason: "malformed" };
      }
      const entry = this.#decryption.get(header.kid);
      if (entry === undefined) return { ok: false, reason: "unknown-key" };
      const early = entry.window.check(header.ctr);
      if (early !== "fresh") return { ok: false, reason: early };
      const plaintext = await openFrame(await entry.keys, header.ctr, header.length, metadata, sframe);
      if (plaintext === null) return { ok: false, reason: "authentication" };
      // Checked again after the await: another frame with the same CTR may have won meanwhile.
      const verdict = entry.window.check(header.ctr);
      if (verdict !== "fresh") return { ok: false, reason: verdict };
      entry.window.accept(header.ctr);
      return { ok: true, plaintext, kid: header.kid, ctr: header.ctr };
    } catch {
      // A key whose derivation failed, or WebCrypto refusing: the frame cannot be opened.
      return { ok: false, reason: "unknown-key" };
    }
  }

  // HKDF takes a base key of any length (the RFC's vectors use 16 bytes for every suite; MLS
  // exports AEAD.Nk bytes); anything shorter than 16 bytes is a mistake, not a key.
  #checkBaseKey(baseKey: Uint8Array): void {
    if (baseKey.length < MIN_BASE_KEY_LENGTH) {
      throw new RangeError(`an SFrame base key has at least ${MIN_BASE_KEY_LENGTH} bytes, not ${baseKey.length}`);
    }
  }
}
