//! The SFrame header (RFC 9605 §4.3): a config byte `X|KKK|Y|CCC`, then the KID and the CTR as
//! unsigned big-endian integers in the fewest bytes that hold them. A value below 8 sits in the
//! config byte itself (flag 0); otherwise the flag is 1 and the three bits say its length minus one.
//!
//! Decoding is strict: a value that could have been written shorter (a leading zero byte, or an
//! extended field holding a value below 8) is refused, so every (KID, CTR) has exactly one header
//! and the header bytes that go into the AAD are canonical. It knows nothing about keys.

import { type Bytes, MAX_U64, decodeBigEndian, encodeBigEndian, minimalByteLength } from "./bytes";

/** A KID and CTR read from the front of an SFrame ciphertext, and how many bytes they took. */
export interface SFrameHeader {
  readonly kid: bigint;
  readonly ctr: bigint;
  /** The header's encoded length in bytes (1 to 17); the ciphertext starts after it. */
  readonly length: number;
}

/** Bytes that are not a valid SFrame header. */
export class SFrameHeaderError extends Error {
  override readonly name = "SFrameHeaderError";
}

/** The header for `kid` and `ctr`, both in 0..2^64-1. */
export function encodeHeader(kid: bigint, ctr: bigint): Bytes {
  checkU64(kid, "KID");
  checkU64(ctr, "CTR");
  const kidLength = kid < 8n ? 0 : minimalByteLength(kid);
  const ctrLength = ctr < 8n ? 0 : minimalByteLength(ctr);
  const header = new Uint8Array(1 + kidLength + ctrLength);
  const kidBits = kidLength === 0 ? Number(kid) : 0x8 | (kidLength - 1);
  const ctrBits = ctrLength === 0 ? Number(ctr) : 0x8 | (ctrLength - 1);
  header[0] = (kidBits << 4) | ctrBits;
  if (kidLength > 0) header.set(encodeBigEndian(kid, kidLength), 1);
  if (ctrLength > 0) header.set(encodeBigEndian(ctr, ctrLength), 1 + kidLength);
  return header;
}

/** Reads the header at the start of `data`; throws `SFrameHeaderError` if it is not one. */
export function decodeHeader(data: Uint8Array): SFrameHeader {
  const config = data[0];
  if (config === undefined) throw new SFrameHeaderError("empty SFrame ciphertext");
  let offset = 1;
  const readField = (bits: number, name: string): bigint => {
    if ((bits & 0x8) === 0) return BigInt(bits);
    const length = (bits & 0x7) + 1;
    if (offset + length > data.length) throw new SFrameHeaderError(`SFrame header truncated in the ${name}`);
    const field = data.subarray(offset, offset + length);
    offset += length;
    const value = decodeBigEndian(field);
    if (value < 8n || (length > 1 && field[0] === 0)) {
      throw new SFrameHeaderError(`SFrame header ${name} is not in its shortest form`);
    }
    return value;
  };
  const kid = readField(config >> 4, "KID");
  const ctr = readField(config & 0xf, "CTR");
  return { kid, ctr, length: offset };
}

function checkU64(value: bigint, name: string): void {
  if (value < 0n || value > MAX_U64) throw new RangeError(`${name} ${value} is not an unsigned 64-bit integer`);
}
