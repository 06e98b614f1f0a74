//! Calls to the Trygg server's JSON API, and the parsing of what comes back.
//!
//! Responses are parsed into typed values here, at the edge, so the rest of the client never sees
//! an unchecked `any`. It does not retry, cache, or show anything: callers decide what a failure
//! means to the person.

/** `GET /api/v1/info`: what this server is and who runs it. */
export interface ServerInfo {
  readonly product: string;
  readonly version: string;
  /** The organisation that operates this installation, if one is configured. */
  readonly organisation: string | null;
}

/** Why a call failed, for the log; the person is shown a localized message instead. */
export class ApiError extends Error {
  override readonly name = "ApiError";
}

const requestTimeoutMs = 10_000;

export async function fetchServerInfo(): Promise<ServerInfo> {
  return parseServerInfo(await getJson("/api/v1/info"));
}

async function getJson(path: string): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(path, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
  } catch (cause) {
    throw new ApiError(`GET ${path} failed`, { cause });
  }
  if (!response.ok) throw new ApiError(`GET ${path} answered ${response.status}`);
  try {
    return await response.json();
  } catch (cause) {
    throw new ApiError(`GET ${path} did not answer JSON`, { cause });
  }
}

function parseServerInfo(value: unknown): ServerInfo {
  if (typeof value !== "object" || value === null) throw new ApiError("info: not an object");
  const { product, version, organisation } = value as Record<string, unknown>;
  if (typeof product !== "string") throw new ApiError("info: product is not a string");
  if (typeof version !== "string") throw new ApiError("info: version is not a string");
  if (organisation !== null && organisation !== undefined && typeof organisation !== "string") {
    throw new ApiError("info: organisation is neither a string nor null");
  }
  return { product, version, organisation: organisation ?? null };
}
