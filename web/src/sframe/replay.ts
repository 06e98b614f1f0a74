//! A sliding anti-replay window over one KID's CTR values, in the manner of SRTP's (RFC 3711
//! §3.3.2) that RFC 9605 §9.3 points to: the highest CTR accepted so far and a bitmap of which of
//! the `size` values below it were seen. A CTR at or below the window's bottom is "too old".
//!
//! It only records what it is told was authentic; checking tags is the caller's job, and so is
//! asking `check` before the (slow) decryption and `accept` after it.

export type ReplayVerdict = "fresh" | "replay" | "too-old";

export class ReplayWindow {
  readonly size: bigint;
  /** The highest CTR accepted so far; -1 before the first. */
  #highest = -1n;
  /** Bit i set: CTR `highest - i` was accepted (bit 0 is `highest` itself). */
  #seen = 0n;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError("the replay window needs a positive size");
    this.size = BigInt(size);
  }

  check(ctr: bigint): ReplayVerdict {
    if (ctr > this.#highest) return "fresh";
    const age = this.#highest - ctr;
    if (age >= this.size) return "too-old";
    return (this.#seen >> age) & 1n ? "replay" : "fresh";
  }

  /** Records an authentic `ctr`; returns false (and records nothing) if `check` would refuse it. */
  accept(ctr: bigint): boolean {
    if (this.check(ctr) !== "fresh") return false;
    const mask = (1n << this.size) - 1n;
    if (ctr > this.#highest) {
      const shift = ctr - this.#highest;
      this.#seen = shift >= this.size ? 1n : ((this.#seen << shift) | 1n) & mask;
      this.#highest = ctr;
    } else {
      this.#seen |= 1n << (this.#highest - ctr);
    }
    return true;
  }
}
