//! SFrame (RFC 9605) for Trygg's media end-to-end encryption: the header, key derivation and
//! AEADs on WebCrypto, an SFrame context with counters and anti-replay, and keys from MLS epochs.
//!
//! This file only re-exports; see each module for what it does and does not do.

export * from "./bytes";
export * from "./header";
export * from "./suites";
export * from "./crypto";
export * from "./replay";
export * from "./context";
export * from "./mls";
