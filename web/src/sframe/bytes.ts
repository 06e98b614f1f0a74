//! Byte helpers for the SFrame code: concatenation, big-endian integers of a fixed width, XOR of
//! equal-length strings and a comparison that does not stop at the first difference.
//!
//! It deliberately has no hex or base64 helpers (the tests bring their own) and does no crypto.

/** Bytes backed by a plain `ArrayBuffer`, which is what WebCrypto accepts. */
export type Bytes = Uint8Array<ArrayBuffer>;

/** The largest value of an unsigned 64-bit integer, the range of SFrame's KID and CTR. */
export const MAX_U64 = (1n << 64n) - 1n;

/** A fresh copy of `data` in its own `ArrayBuffer`. */
export function copyBytes(data: Uint8Array): Bytes {
  const out = new Uint8Array(data.length);
  out.set(data);
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Bytes {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** `value` as an unsigned big-endian integer of exactly `width` bytes; throws if it does not fit. */
export function encodeBigEndian(value: bigint, width: number): Bytes {
  if (value < 0n || value >> BigInt(8 * width) !== 0n) {
    throw new RangeError(`${value} does not fit in ${width} bytes`);
  }
  const out = new Uint8Array(width);
  let rest = value;
  for (let index = width - 1; index >= 0; index -= 1) {
    out[index] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/** The unsigned big-endian integer in `data` (any length up to 8 bytes makes sense for SFrame). */
export function decodeBigEndian(data: Uint8Array): bigint {
  let value = 0n;
  for (const byte of data) value = (value << 8n) | BigInt(byte);
  return value;
}

/** The number of bytes the unsigned value needs, at least 1. */
export function minimalByteLength(value: bigint): number {
  let length = 1;
  while (value >> BigInt(8 * length) !== 0n) length += 1;
  return length;
}

/** `a` XOR `b`, which must have the same length. */
export function xorBytes(a: Uint8Array, b: Uint8Array): Bytes {
  if (a.length !== b.length) throw new RangeError("xor of byte strings of different lengths");
  const out = new Uint8Array(a.length);
  for (let index = 0; index < a.length; index += 1) out[index] = (a[index] ?? 0) ^ (b[index] ?? 0);
  return out;
}

/**
 * Whether `a` and `b` are equal, looking at every byte whatever the first difference, so the time
 * taken says nothing about where a forged tag went wrong (as far as a JavaScript engine allows).
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let index = 0; index < a.length; index += 1) difference |= (a[index] ?? 0) ^ (b[index] ?? 0);
  return difference === 0;
}
