//! The SFrame cipher suites this client can run on WebCrypto (RFC 9605 §4.5, Table 1), by their
//! IANA identifiers. Trygg's media uses AES_128_GCM_SHA256_128 (0x0004): its 16-byte key is what
//! `MLS-Exporter("SFrame 1.0 Base Key", "", 16)` gives for MLS ciphersuite 0x0001.
//!
//! The AES-CTR + HMAC suites (0x0001-0x0003) are here because the RFC's test vectors cover them and
//! WebCrypto has both halves; their short tags are not used for Trygg's media (§7.5). Suites
//! registered after RFC 9605 (AES-256-CTR, 0x0006-0x0008) are not implemented.

export type HashName = "SHA-256" | "SHA-512";

export interface CipherSuite {
  readonly id: number;
  readonly name: string;
  /** The hash for HKDF (and for HMAC in the AES-CTR suites). */
  readonly hash: HashName;
  /** Hash.Nh: the hash's output size in bytes. */
  readonly nh: number;
  /** AEAD.Nk: the key size in bytes (for AES-CTR + HMAC: AES key and HMAC key together). */
  readonly nk: number;
  /** AEAD.Nn: the nonce size in bytes. */
  readonly nn: number;
  /** AEAD.Nt: the tag size in bytes. */
  readonly nt: number;
  /** AEAD.Nka: the AES key size for the AES-CTR + HMAC suites; null for AES-GCM. */
  readonly nka: number | null;
}

export const AES_128_CTR_HMAC_SHA256_80: CipherSuite = suite(0x0001, "AES_128_CTR_HMAC_SHA256_80", "SHA-256", 32, 48, 12, 10, 16);
export const AES_128_CTR_HMAC_SHA256_64: CipherSuite = suite(0x0002, "AES_128_CTR_HMAC_SHA256_64", "SHA-256", 32, 48, 12, 8, 16);
export const AES_128_CTR_HMAC_SHA256_32: CipherSuite = suite(0x0003, "AES_128_CTR_HMAC_SHA256_32", "SHA-256", 32, 48, 12, 4, 16);
export const AES_128_GCM_SHA256_128: CipherSuite = suite(0x0004, "AES_128_GCM_SHA256_128", "SHA-256", 32, 16, 12, 16, null);
export const AES_256_GCM_SHA512_128: CipherSuite = suite(0x0005, "AES_256_GCM_SHA512_128", "SHA-512", 64, 32, 12, 16, null);

/** The suite Trygg's media encryption uses. */
export const MEDIA_CIPHER_SUITE = AES_128_GCM_SHA256_128;

const SUITES: readonly CipherSuite[] = [
  AES_128_CTR_HMAC_SHA256_80,
  AES_128_CTR_HMAC_SHA256_64,
  AES_128_CTR_HMAC_SHA256_32,
  AES_128_GCM_SHA256_128,
  AES_256_GCM_SHA512_128,
];

/** The suite with IANA identifier `id`; throws for one this client does not implement. */
export function cipherSuite(id: number): CipherSuite {
  const found = SUITES.find((candidate) => candidate.id === id);
  if (!found) throw new RangeError(`SFrame cipher suite 0x${id.toString(16).padStart(4, "0")} is not supported`);
  return found;
}

function suite(id: number, name: string, hash: HashName, nh: number, nk: number, nn: number, nt: number, nka: number | null): CipherSuite {
  return Object.freeze({ id, name, hash, nh, nk, nn, nt, nka });
}
