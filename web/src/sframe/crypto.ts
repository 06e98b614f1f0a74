//! SFrame's cryptography on WebCrypto: the key and salt derivation of RFC 9605 §4.4.2 (HKDF with
//! the labels "SFrame 1.0 Secret key " / "SFrame 1.0 Secret salt " + KID (8 bytes) + suite (2
//! bytes)), the nonce (salt XOR CTR, §4.4.3), sealing and opening one frame (AAD = header ||
//! metadata), and the two AEAD constructions: AES-GCM, and AES-CTR + truncated HMAC (§4.5.1).
//!
//! It keeps no state: which keys exist, counters and replay are `SFrameContext`'s business. Keys
//! are imported non-extractable; the raw derived bytes only live as long as the derivation.
//! JavaScript gives no hard constant-time guarantee; tag comparison looks at every byte anyway.

import { type Bytes, concatBytes, constantTimeEqual, copyBytes, encodeBigEndian, xorBytes } from "./bytes";
import { encodeHeader } from "./header";
import type { CipherSuite } from "./suites";

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;
const encoder = new TextEncoder();

/** An AEAD with its key bound in: `seal` returns ciphertext || tag, `open` null on any failure. */
export interface Aead {
  seal(nonce: Bytes, aad: Bytes, plaintext: Bytes): Promise<Bytes>;
  open(nonce: Bytes, aad: Bytes, ciphertext: Bytes): Promise<Bytes | null>;
}

/** What one KID's base_key turns into: the AEAD under sframe_key, and sframe_salt. */
export interface FrameKeys {
  readonly suite: CipherSuite;
  readonly aead: Aead;
  readonly salt: Bytes;
}

/** sframe_key and sframe_salt as bytes (RFC 9605 §4.4.2); for the test vectors and `frameKeys`. */
export async function deriveKeySalt(suite: CipherSuite, kid: bigint, baseKey: Uint8Array): Promise<{ key: Bytes; salt: Bytes }> {
  const secret = await subtle().importKey("raw", copyBytes(baseKey), "HKDF", false, ["deriveBits"]);
  const suffix = concatBytes(encodeBigEndian(kid, 8), encodeBigEndian(BigInt(suite.id), 2));
  // WebCrypto's HKDF is Extract then Expand. An empty salt is HKDF-Extract("", base_key): HMAC
  // pads its key with zeros, so "" and Nh zero bytes (RFC 5869's default) are the same key.
  const expand = async (label: string, length: number): Promise<Bytes> => {
    const info = concatBytes(encoder.encode(label), suffix);
    const bits = await subtle().deriveBits({ name: "HKDF", hash: suite.hash, salt: new Uint8Array(0), info }, secret, length * 8);
    return new Uint8Array(bits);
  };
  const [key, salt] = await Promise.all([expand("SFrame 1.0 Secret key ", suite.nk), expand("SFrame 1.0 Secret salt ", suite.nn)]);
  return { key, salt };
}

/** Derives and imports the keys for `kid` from `baseKey`. */
export async function frameKeys(suite: CipherSuite, kid: bigint, baseKey: Uint8Array): Promise<FrameKeys> {
  const { key, salt } = await deriveKeySalt(suite, kid, baseKey);
  try {
    return { suite, aead: await importAead(suite, key), salt };
  } finally {
    key.fill(0);
  }
}

/** The AEAD of `suite` under `key` (AEAD.Nk bytes). */
export async function importAead(suite: CipherSuite, key: Uint8Array): Promise<Aead> {
  if (key.length !== suite.nk) throw new RangeError(`${suite.name} takes a ${suite.nk}-byte key, not ${key.length}`);
  return suite.nka === null ? importAesGcm(suite, key) : importAesCtrHmac(suite, suite.nka, key);
}

/** The nonce for `ctr`: sframe_salt XOR CTR as a big-endian integer of AEAD.Nn bytes (§4.4.3). */
export function frameNonce(keys: FrameKeys, ctr: bigint): Bytes {
  return xorBytes(keys.salt, encodeBigEndian(ctr, keys.suite.nn));
}

/** header || AEAD.Encrypt(sframe_key, nonce, header || metadata, plaintext) (RFC 9605 §4.4.3). */
export async function sealFrame(keys: FrameKeys, kid: bigint, ctr: bigint, metadata: Uint8Array, plaintext: Uint8Array): Promise<Bytes> {
  const header = encodeHeader(kid, ctr);
  const ciphertext = await keys.aead.seal(frameNonce(keys, ctr), concatBytes(header, metadata), copyBytes(plaintext));
  return concatBytes(header, ciphertext);
}

/**
 * Opens the ciphertext that follows a header already parsed from `sframe` (§4.4.4); null if it
 * does not authenticate. `headerLength`, `ctr` come from `decodeHeader`.
 */
export async function openFrame(keys: FrameKeys, ctr: bigint, headerLength: number, metadata: Uint8Array, sframe: Uint8Array): Promise<Bytes | null> {
  const aad = concatBytes(sframe.subarray(0, headerLength), metadata);
  return keys.aead.open(frameNonce(keys, ctr), aad, copyBytes(sframe.subarray(headerLength)));
}

async function importAesGcm(suite: CipherSuite, key: Uint8Array): Promise<Aead> {
  const aesKey = await subtle().importKey("raw", copyBytes(key), "AES-GCM", false, ["encrypt", "decrypt"]);
  const tagLength = suite.nt * 8;
  return {
    async seal(nonce, aad, plaintext) {
      return new Uint8Array(await subtle().encrypt({ name: "AES-GCM", iv: nonce, additionalData: aad, tagLength }, aesKey, plaintext));
    },
    async open(nonce, aad, ciphertext) {
      if (ciphertext.length < suite.nt) return null;
      try {
        return new Uint8Array(await subtle().decrypt({ name: "AES-GCM", iv: nonce, additionalData: aad, tagLength }, aesKey, ciphertext));
      } catch {
        return null;
      }
    },
  };
}

/** RFC 9605 §4.5.1: encrypt-then-MAC, the first Nka key bytes for AES-CTR, the rest for HMAC. */
async function importAesCtrHmac(suite: CipherSuite, nka: number, key: Uint8Array): Promise<Aead> {
  const [encKey, authKey] = await Promise.all([
    subtle().importKey("raw", copyBytes(key.subarray(0, nka)), "AES-CTR", false, ["encrypt", "decrypt"]),
    subtle().importKey("raw", copyBytes(key.subarray(nka)), { name: "HMAC", hash: suite.hash }, false, ["sign"]),
  ]);
  // The initial counter block is the nonce followed by four zero bytes; the low 32 bits count.
  const counterBlock = (nonce: Bytes): Bytes => concatBytes(nonce, new Uint8Array(4));
  const tag = async (nonce: Bytes, aad: Bytes, ciphertext: Bytes): Promise<Bytes> => {
    const authData = concatBytes(
      encodeBigEndian(BigInt(aad.length), 8),
      encodeBigEndian(BigInt(ciphertext.length), 8),
      encodeBigEndian(BigInt(suite.nt), 8),
      nonce,
      aad,
      ciphertext,
    );
    const mac = new Uint8Array(await subtle().sign("HMAC", authKey, authData));
    return mac.slice(0, suite.nt);
  };
  return {
    async seal(nonce, aad, plaintext) {
      const ciphertext = new Uint8Array(await subtle().encrypt({ name: "AES-CTR", counter: counterBlock(nonce), length: 32 }, encKey, plaintext));
      return concatBytes(ciphertext, await tag(nonce, aad, ciphertext));
    },
    async open(nonce, aad, ciphertext) {
      if (ciphertext.length < suite.nt) return null;
      const inner = ciphertext.slice(0, ciphertext.length - suite.nt);
      const expected = await tag(nonce, aad, inner);
      if (!constantTimeEqual(expected, ciphertext.subarray(ciphertext.length - suite.nt))) return null;
      return new Uint8Array(await subtle().decrypt({ name: "AES-CTR", counter: counterBlock(nonce), length: 32 }, encKey, inner));
    },
  };
}
