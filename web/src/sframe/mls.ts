//! SFrame keys from MLS (RFC 9605 §5.2). Each MLS epoch gives one
//! `base_key = MLS-Exporter("SFrame 1.0 Base Key", "", AEAD.Nk)`, and each member its own KIDs:
//!
//!     KID = (context << (S + E)) | (sender_index << E) | (epoch mod 2^E)
//!
//! with E low bits of the epoch, the sender's MLS leaf index above them, and an optional context
//! value above S index bits. Trygg uses context 0 (one KID per member and epoch, so audio and
//! video share one counter) and E = 4.
//!
//! `SFrameEpochKeys` installs an epoch into an `SFrameContext` (decryption keys for every other
//! member, the encryption key for oneself) and keeps earlier epochs' decryption keys for a short
//! time (1 s by default) so frames encrypted just before a change still play. Time is passed in
//! as milliseconds; nothing here reads a clock or sets a timer. It does not run MLS: the exported
//! secret, the epoch and the leaf indices come from the MLS client.

import type { SFrameContext } from "./context";

/** The MLS exporter label for SFrame base keys; the exporter's context is empty. */
export const MLS_EXPORTER_LABEL = "SFrame 1.0 Base Key";

/** Trygg's E: 16 epochs tell apart, far more than are ever live at once. */
export const DEFAULT_EPOCH_BITS = 4;

/** How long an earlier epoch's decryption keys stay after a new epoch is installed. */
export const DEFAULT_RETAIN_PREVIOUS_MS = 1000;

export interface KidOptions {
  /** The context value (default 0, the shortest KID). */
  readonly context?: bigint;
  /** S, the bits for the sender index; needed only with a non-zero context. */
  readonly indexBits?: number;
}

/** The KID of member `senderIndex` in `epoch` (RFC 9605 §5.2, Figure 8). */
export function kidFor(epoch: bigint | number, senderIndex: number, epochBits: number, options: KidOptions = {}): bigint {
  const e = checkBits(epochBits, "epoch bits");
  const epochValue = BigInt(epoch);
  if (epochValue < 0n) throw new RangeError("an MLS epoch is not negative");
  if (!Number.isInteger(senderIndex) || senderIndex < 0 || senderIndex > 0xffff_ffff) {
    throw new RangeError(`${senderIndex} is not an MLS leaf index`);
  }
  const index = BigInt(senderIndex);
  const context = options.context ?? 0n;
  let kid = (index << e) | (epochValue & ((1n << e) - 1n));
  if (context !== 0n) {
    if (options.indexBits === undefined) throw new RangeError("a non-zero KID context needs the number of index bits");
    const s = checkBits(options.indexBits, "index bits");
    if (index >> s !== 0n) throw new RangeError(`leaf index ${senderIndex} does not fit in ${options.indexBits} bits`);
    if (context < 0n) throw new RangeError("a KID context is not negative");
    kid |= context << (s + e);
  }
  if (kid >> 64n !== 0n) throw new RangeError("the KID does not fit in 64 bits");
  return kid;
}

/** The epoch's low bits and the sender index (with any context above it) of a KID. */
export function splitKid(kid: bigint, epochBits: number): { readonly epochLowBits: bigint; readonly senderIndex: bigint } {
  const e = checkBits(epochBits, "epoch bits");
  return { epochLowBits: kid & ((1n << e) - 1n), senderIndex: kid >> e };
}

/** One MLS epoch as the MLS client reports it. */
export interface EpochInstall {
  readonly epoch: bigint;
  /** `MLS-Exporter("SFrame 1.0 Base Key", "", AEAD.Nk)` of this epoch. */
  readonly baseKey: Uint8Array;
  /** This member's leaf index. */
  readonly ownIndex: number;
  /** Every member's leaf index in this epoch (this member's may be among them). */
  readonly memberIndices: readonly number[];
  /**
   * The MLS group was started afresh (its epochs begin again): every earlier epoch's keys go at
   * once, and this epoch need not be after the current one.
   */
  readonly restart?: boolean;
}

export interface EpochKeysOptions {
  readonly epochBits?: number;
  readonly retainPreviousMs?: number;
}

interface HeldEpoch {
  readonly epoch: bigint;
  readonly decryptionKids: readonly bigint[];
  /** When its decryption keys go; null while it is the current epoch. */
  expiresAt: number | null;
}

export class SFrameEpochKeys {
  readonly epochBits: number;
  readonly retainPreviousMs: number;
  readonly #context: SFrameContext;
  readonly #held: HeldEpoch[] = [];
  /** Installs run one after the other, in the order they were asked for. */
  #queue: Promise<void> = Promise.resolve();

  constructor(context: SFrameContext, options: EpochKeysOptions = {}) {
    this.#context = context;
    this.epochBits = options.epochBits ?? DEFAULT_EPOCH_BITS;
    checkBits(this.epochBits, "epoch bits");
    this.retainPreviousMs = options.retainPreviousMs ?? DEFAULT_RETAIN_PREVIOUS_MS;
  }

  /** The epoch frames are encrypted in, or null before the first. */
  get currentEpoch(): bigint | null {
    return this.#held.find((held) => held.expiresAt === null)?.epoch ?? null;
  }

  /** The epochs whose frames are accepted now, oldest first. */
  get acceptedEpochs(): readonly bigint[] {
    return this.#held.map((held) => held.epoch);
  }

  /**
   * Makes `install` the current epoch at time `now` (ms): decryption keys for the other members,
   * then this member's encryption key. The epoch before it is accepted until
   * `now + retainPreviousMs`; an older epoch with the same low E bits goes at once (§5.2).
   */
  installEpoch(install: EpochInstall, now: number): Promise<void> {
    const run = this.#queue.then(() => this.#install(install, now));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Removes the decryption keys of earlier epochs whose time is up at `now` (ms). */
  expire(now: number): void {
    for (let index = this.#held.length - 1; index >= 0; index -= 1) {
      const held = this.#held[index];
      if (held !== undefined && held.expiresAt !== null && held.expiresAt <= now) this.#drop(index);
    }
  }

  async #install(install: EpochInstall, now: number): Promise<void> {
    if (install.restart === true) {
      for (let index = this.#held.length - 1; index >= 0; index -= 1) this.#drop(index);
    }
    const current = this.currentEpoch;
    if (current !== null && install.epoch <= current) {
      throw new RangeError(`epoch ${install.epoch} is not after the current epoch ${current}`);
    }
    const mask = (1n << BigInt(this.epochBits)) - 1n;
    for (let index = this.#held.length - 1; index >= 0; index -= 1) {
      const held = this.#held[index];
      if (held !== undefined && (held.epoch & mask) === (install.epoch & mask)) this.#drop(index);
    }
    const decryptionKids = install.memberIndices
      .filter((member) => member !== install.ownIndex)
      .map((member) => kidFor(install.epoch, member, this.epochBits));
    await Promise.all(decryptionKids.map((kid) => this.#context.addDecryptionKey(kid, install.baseKey)));
    await this.#context.setEncryptionKey(kidFor(install.epoch, install.ownIndex, this.epochBits), install.baseKey);
    for (const held of this.#held) held.expiresAt ??= now + this.retainPreviousMs;
    this.#held.push({ epoch: install.epoch, decryptionKids, expiresAt: null });
    this.expire(now);
  }

  #drop(index: number): void {
    const [held] = this.#held.splice(index, 1);
    for (const kid of held?.decryptionKids ?? []) this.#context.removeDecryptionKey(kid);
  }
}

function checkBits(bits: number, name: string): bigint {
  if (!Number.isInteger(bits) || bits < 1 || bits > 32) throw new RangeError(`${name} must be 1 to 32, not ${bits}`);
  return BigInt(bits);
}
