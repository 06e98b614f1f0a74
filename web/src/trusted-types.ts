//! The client's one Trusted Types policy, `trygg` (the CSP allows that name and no other and
//! requires Trusted Types for every script sink). It only ever turns the SFrame worker's own
//! script URL into a `TrustedScriptURL`; anything else throws. Nothing else in the client writes
//! to a script sink.

import { SFRAME_WORKER_URL } from "./sframe/media";

interface TrustedScriptUrlPolicy {
  createScriptURL(input: string): unknown;
}

interface TrustedTypesFactory {
  createPolicy(name: string, rules: { createScriptURL(input: string): string }): TrustedScriptUrlPolicy;
}

let policy: TrustedScriptUrlPolicy | null = null;

/** The SFrame worker's script URL, as this browser's `new Worker()` accepts it under the CSP. */
export function sframeWorkerScript(): string {
  const factory = (globalThis as { trustedTypes?: TrustedTypesFactory }).trustedTypes;
  if (factory === undefined) return SFRAME_WORKER_URL;
  policy ??= factory.createPolicy("trygg", {
    createScriptURL(input: string): string {
      if (input !== SFRAME_WORKER_URL) throw new TypeError("only the SFrame worker may be loaded as a script");
      return input;
    },
  });
  // A TrustedScriptURL, which `new Worker()` takes in place of a string.
  return policy.createScriptURL(SFRAME_WORKER_URL) as string;
}
