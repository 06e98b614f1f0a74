//! The page's side of media encryption: attaches the SFrame worker to an `RTCRtpSender` or
//! `RTCRtpReceiver` — with `RTCRtpScriptTransform` where the browser has it, otherwise with
//! Chromium's `createEncodedStreams()` (which needs the peer connection to be created with
//! `encodedInsertableStreams: true`) and the streams handed to the worker — and passes it each
//! MLS epoch's exported secret. It reads the worker's counters for tests and diagnostics.
//!
//! It holds no keys itself beyond passing them on, and does not create the peer connection, pick
//! codecs or talk to the SFU or the MLS client.

import type { EpochInstall } from "./mls";
import type { EncodedFrame, MediaCodec, SFrameStats, TransformOptions, WorkerReply, WorkerRequest } from "./transform";

/** The worker bundle's URL, as `web/build.mjs` writes it. */
export const SFRAME_WORKER_URL = "/assets/sframe-worker.js";

/** Chromium's older insertable streams API on senders and receivers. */
interface EncodedStreamsEndpoint {
  createEncodedStreams(): { readable: ReadableStream<EncodedFrame>; writable: WritableStream<EncodedFrame> };
}

/** Distributes an omission over a union, so each request shape keeps its own fields. */
type WithoutId<Request> = Request extends unknown ? Omit<Request, "id"> : never;

export class SFrameMedia {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (reply: WorkerReply) => void }>();
  #nextId = 1;

  constructor(worker: Worker) {
    this.#worker = worker;
    worker.addEventListener("message", (event: MessageEvent<WorkerReply>) => {
      const pending = this.#pending.get(event.data.id);
      if (pending === undefined) return;
      this.#pending.delete(event.data.id);
      pending.resolve(event.data);
    });
  }

  /** Whether this browser can transform encoded frames at all. */
  static supported(): boolean {
    return typeof RTCRtpScriptTransform === "function" || "createEncodedStreams" in RTCRtpSender.prototype;
  }

  /** Encrypts what `sender` sends (`codec` is what it was negotiated to send). */
  async attachSender(sender: RTCRtpSender, codec: MediaCodec): Promise<void> {
    await this.#attach(sender, { direction: "encrypt", codec });
  }

  /** Decrypts what `receiver` receives. */
  async attachReceiver(receiver: RTCRtpReceiver, codec: MediaCodec): Promise<void> {
    await this.#attach(receiver, { direction: "decrypt", codec });
  }

  /** Installs a new MLS epoch; resolves once this participant sends under it. */
  async installEpoch(install: EpochInstall): Promise<void> {
    // A copy, so the caller's buffer is never detached or shared with the worker.
    await this.#request({ type: "epoch", ...install, baseKey: install.baseKey.slice() });
  }

  async stats(): Promise<SFrameStats> {
    const reply = await this.#request({ type: "stats" });
    if (reply.type !== "stats") throw new Error("the SFrame worker did not answer with its counters");
    return reply.stats;
  }

  async #attach(endpoint: RTCRtpSender | RTCRtpReceiver, options: TransformOptions): Promise<void> {
    if (typeof RTCRtpScriptTransform === "function") {
      endpoint.transform = new RTCRtpScriptTransform(this.#worker, options);
      return;
    }
    if (!hasEncodedStreams(endpoint)) throw new Error("this browser cannot encrypt media end to end");
    const { readable, writable } = endpoint.createEncodedStreams();
    await this.transformStreams(readable, writable, options);
  }

  /**
   * Hands a pair of encoded-frame streams to the worker, which transforms what `readable` gives
   * into `writable` (both are transferred, so unusable here afterwards). This is the
   * `createEncodedStreams()` path; tests use it with streams of their own.
   */
  async transformStreams(readable: ReadableStream<EncodedFrame>, writable: WritableStream<EncodedFrame>, options: TransformOptions): Promise<void> {
    await this.#request({ type: "streams", readable, writable, options }, [readable, writable]);
  }

  async #request(request: WithoutId<WorkerRequest>, transfer: Transferable[] = []): Promise<WorkerReply> {
    const id = this.#nextId++;
    const reply = new Promise<WorkerReply>((resolve) => this.#pending.set(id, { resolve }));
    this.#worker.postMessage({ ...request, id }, transfer);
    const answer = await reply;
    if (answer.type === "error") throw new Error(answer.message);
    return answer;
  }
}

function hasEncodedStreams(endpoint: RTCRtpSender | RTCRtpReceiver): endpoint is (RTCRtpSender | RTCRtpReceiver) & EncodedStreamsEndpoint {
  return typeof (endpoint as Partial<EncodedStreamsEndpoint>).createEncodedStreams === "function";
}

