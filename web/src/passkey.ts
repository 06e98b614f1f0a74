//! The browser half of passkeys: turns the server's ceremony options (JSON, binary fields in
//! base64url) into what `navigator.credentials` takes, and the authenticator's answer back into
//! JSON for the server. It verifies nothing; the server does, and this module keeps nothing.

import { fromBase64Url, toBase64Url } from "./base64";

/** The browser has no WebAuthn (or the page is not a secure context). */
export class PasskeysUnsupported extends Error {
  override readonly name = "PasskeysUnsupported";

  constructor() {
    super("this browser cannot use passkeys");
  }
}

/** The person dismissed the browser's prompt, or no passkey of this site was there. */
export class PasskeyCancelled extends Error {
  override readonly name = "PasskeyCancelled";

  constructor() {
    super("no passkey was used");
  }
}

export function passkeysSupported(): boolean {
  return window.isSecureContext && typeof window.PublicKeyCredential === "function" && navigator.credentials !== undefined;
}

type Json = Record<string, unknown>;

/** Asks the authenticator for a new passkey, with `options` from the server's registration start. */
export async function createPasskey(options: unknown): Promise<Json> {
  if (!passkeysSupported()) throw new PasskeysUnsupported();
  const publicKey = innerOptions(options);
  const user = record(publicKey.user, "user");
  const creation = {
    ...publicKey,
    challenge: optionBytes(publicKey.challenge),
    user: { ...user, id: optionBytes(user.id) },
    excludeCredentials: descriptors(publicKey.excludeCredentials),
  } as unknown as PublicKeyCredentialCreationOptions;
  const credential = await ask(() => navigator.credentials.create({ publicKey: creation }));
  const response = credential.response as AuthenticatorAttestationResponse;
  return {
    id: credential.id,
    rawId: answerText(credential.rawId),
    type: credential.type,
    response: {
      attestationObject: answerText(response.attestationObject),
      clientDataJSON: answerText(response.clientDataJSON),
      transports: typeof response.getTransports === "function" ? response.getTransports() : [],
    },
    extensions: credential.getClientExtensionResults(),
  };
}

/** Asks the authenticator to sign in, with `options` from the server's sign-in start. */
export async function getPasskey(options: unknown): Promise<Json> {
  if (!passkeysSupported()) throw new PasskeysUnsupported();
  const publicKey = innerOptions(options);
  const request = {
    ...publicKey,
    challenge: optionBytes(publicKey.challenge),
    allowCredentials: descriptors(publicKey.allowCredentials),
  } as unknown as PublicKeyCredentialRequestOptions;
  const credential = await ask(() => navigator.credentials.get({ publicKey: request }));
  const response = credential.response as AuthenticatorAssertionResponse;
  return {
    id: credential.id,
    rawId: answerText(credential.rawId),
    type: credential.type,
    response: {
      authenticatorData: answerText(response.authenticatorData),
      clientDataJSON: answerText(response.clientDataJSON),
      signature: answerText(response.signature),
      userHandle: response.userHandle ? answerText(response.userHandle) : null,
    },
    extensions: credential.getClientExtensionResults(),
  };
}

/** Runs a WebAuthn call; a dismissed prompt (NotAllowedError) becomes `PasskeyCancelled`. */
async function ask(call: () => Promise<Credential | null>): Promise<PublicKeyCredential> {
  let credential: Credential | null;
  try {
    credential = await call();
  } catch (error) {
    if (error instanceof DOMException && (error.name === "NotAllowedError" || error.name === "AbortError")) {
      throw new PasskeyCancelled();
    }
    throw error;
  }
  if (!(credential instanceof PublicKeyCredential)) throw new PasskeyCancelled();
  return credential;
}

function innerOptions(options: unknown): Json {
  return record(record(options, "options").publicKey, "publicKey");
}

function descriptors(list: unknown): PublicKeyCredentialDescriptor[] | undefined {
  if (!Array.isArray(list)) return undefined;
  return list.map((entry: unknown) => {
    const descriptor = record(entry, "credential descriptor");
    return { ...descriptor, id: optionBytes(descriptor.id) } as unknown as PublicKeyCredentialDescriptor;
  });
}

function record(value: unknown, what: string): Json {
  if (typeof value !== "object" || value === null) throw new Error(`passkey options: ${what} is not an object`);
  return value as Json;
}

function optionBytes(value: unknown): ArrayBuffer {
  if (typeof value !== "string") throw new Error("passkey options: expected base64url text");
  return fromBase64Url(value).buffer as ArrayBuffer;
}

function answerText(buffer: ArrayBuffer): string {
  return toBase64Url(new Uint8Array(buffer));
}
