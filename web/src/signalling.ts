//! The client side of a meeting's signalling WebSocket: typed messages in both directions (the
//! types are generated from the server's Rust types, `generated/signalling.ts`), and resuming the
//! person's place after a short network drop by connecting again with the same cookie.
//!
//! It holds no token: the browser sends the session or guest-ticket cookie with the handshake.
//! It decides nothing about the meeting: the server answers every request, refusals included.
//! It stops reconnecting when the server closed on purpose (the person left, was removed, the
//! meeting ended, their session ended) or after a few failed attempts.

import { PROTOCOL_VERSION, type ClientMessage, type ServerEnvelope } from "./generated/signalling";

/** The server closed on purpose; these are final (see `close_code` in the server). */
const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([4000, 4001, 1008]);
/** Back-off between reconnection attempts, in milliseconds. */
const RETRY_DELAYS_MS: readonly number[] = [250, 500, 1000, 2000, 4000];

export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

export interface SignallingEvents {
  message(message: ServerEnvelope): void;
  state(state: ConnectionState, closeCode: number | null): void;
}

export class Signalling {
  readonly #url: string;
  readonly #events: SignallingEvents;
  #socket: WebSocket | null = null;
  #attempt = 0;
  #stopped = false;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(meetingId: string, events: SignallingEvents) {
    this.#url = `wss://${location.host}/api/v1/meetings/${encodeURIComponent(meetingId)}/signal`;
    this.#events = events;
    this.#open();
  }

  /** Sends one request; false if the connection is not open (the caller may tell the person). */
  send(message: ClientMessage): boolean {
    const socket = this.#socket;
    if (socket === null || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify({ v: PROTOCOL_VERSION, ...message }));
    return true;
  }

  /** Closes for good (the page is leaving). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#socket?.close(1000, "leaving");
    this.#socket = null;
  }

  #open(): void {
    this.#events.state(this.#attempt === 0 ? "connecting" : "reconnecting", null);
    const socket = new WebSocket(this.#url);
    this.#socket = socket;
    socket.addEventListener("open", () => {
      this.#attempt = 0;
      this.#events.state("open", null);
    });
    socket.addEventListener("message", (event: MessageEvent<unknown>) => {
      if (typeof event.data !== "string") return;
      let message: unknown;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (isEnvelope(message)) this.#events.message(message);
    });
    socket.addEventListener("close", (event: CloseEvent) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      if (this.#stopped || FINAL_CLOSE_CODES.has(event.code) || this.#attempt >= RETRY_DELAYS_MS.length) {
        this.#events.state("closed", event.code);
        return;
      }
      const delay = RETRY_DELAYS_MS[this.#attempt] ?? 4000;
      this.#attempt += 1;
      this.#events.state("reconnecting", event.code);
      this.#timer = setTimeout(() => this.#open(), delay);
    });
  }
}

function isEnvelope(value: unknown): value is ServerEnvelope {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return record.v === PROTOCOL_VERSION && typeof record.type === "string";
}

/** What the device check reports: a coarse browser and device description, never the full UA. */
export function describeDevice(): { browser: string; device: string } {
  const agent = navigator.userAgent;
  const browser = /Edg\/(\d+)/.exec(agent)
    ? `Edge ${/Edg\/(\d+)/.exec(agent)?.[1] ?? ""}`
    : /Firefox\/(\d+)/.exec(agent)
      ? `Firefox ${/Firefox\/(\d+)/.exec(agent)?.[1] ?? ""}`
      : /Chrom(?:e|ium)\/(\d+)/.exec(agent)
        ? `Chromium ${/Chrom(?:e|ium)\/(\d+)/.exec(agent)?.[1] ?? ""}`
        : /Safari\//.test(agent)
          ? "Safari"
          : "Browser";
  const device = /Android/.test(agent)
    ? "Android"
    : /iPhone|iPad/.test(agent)
      ? "iOS"
      : /Windows/.test(agent)
        ? "Windows"
        : /Mac OS X/.test(agent)
          ? "macOS"
          : /Linux/.test(agent)
            ? "Linux"
            : "Other";
  return { browser: browser.trim(), device };
}
