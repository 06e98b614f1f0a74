//! SFrame (RFC 9605) for Trygg's media end-to-end encryption: the header, key derivation and
//! AEADs on WebCrypto, an SFrame context with counters and anti-replay, keys from MLS epochs, and
//! the transform of VP8 and Opus frames that runs in the SFrame worker.
//!
//! This file only re-exports; see each module for what it does and does not do.

export * from "./bytes";
export * from "./header";
export * from "./suites";
export * from "./crypto";
export * from "./replay";
export * from "./context";
export * from "./mls";
export * from "./transform";
export * from "./media";
