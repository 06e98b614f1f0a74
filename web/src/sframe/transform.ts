//! SFrame applied to WebRTC encoded frames, per frame (RFC 9605 §4.1), for VP8 and Opus.
//!
//! Frame layout on the wire: `clear prefix || SFrame header || ciphertext || tag`. The clear
//! prefix is the start of the codec payload that the SFU and the packetiser need to read: for VP8
//! the 10-byte key frame header (3-byte frame tag, start code, size) of a key frame and the 1-byte
//! start of the frame tag of a delta frame (the P bit in byte 0 says which); nothing for Opus. The
//! prefix is the SFrame metadata, so it is authenticated: a changed prefix fails decryption. A
//! receiver finds the prefix length from byte 0 itself, so it needs no signalling.
//!
//! Frames that cannot be encrypted (no key yet) are dropped, never sent in the clear; frames that
//! fail to decrypt are dropped. Both are counted per codec in `SFrameStats`, which the page reads
//! by message. `serveSFrameWorker` runs all this in a worker for `RTCRtpScriptTransform` and for
//! streams handed over from `createEncodedStreams()`. It does not do H.264 (needs NAL-aware
//! handling), simulcast/SVC layer rules, or key frame requests through the SFU.

import { type Bytes, concatBytes } from "./bytes";
import { type DecryptFailure, type DecryptResult, SFrameContext, SFrameEncryptError } from "./context";
import { type EpochInstall, SFrameEpochKeys } from "./mls";

export type MediaCodec = "vp8" | "opus";
export type TransformDirection = "encrypt" | "decrypt";

/** What `RTCEncodedVideoFrame` and `RTCEncodedAudioFrame` share that this module uses. */
export interface EncodedFrame {
  data: ArrayBuffer;
}

export interface TransformOptions {
  readonly direction: TransformDirection;
  readonly codec: MediaCodec;
}

export interface CodecStats {
  encrypted: number;
  decrypted: number;
  /** Frames dropped on the way out: no key yet, or the counter ran out. */
  encryptFailed: number;
  /** Frames dropped on the way in, by reason. */
  decryptFailed: Record<DecryptFailure, number>;
}

export type SFrameStats = Record<MediaCodec, CodecStats>;

/** VP8 key frames keep their 10-byte header clear, other VP8 frames their first byte (RFC 6386 §9.1). */
export const VP8_KEY_FRAME_CLEAR_BYTES = 10;
export const VP8_DELTA_FRAME_CLEAR_BYTES = 1;

/** Asks for a new key frame at most this often after a video frame was dropped. */
export const KEY_FRAME_REQUEST_INTERVAL_MS = 1000;

export function emptyStats(): SFrameStats {
  const codec = (): CodecStats => ({
    encrypted: 0,
    decrypted: 0,
    encryptFailed: 0,
    decryptFailed: { malformed: 0, "unknown-key": 0, replay: 0, "too-old": 0, authentication: 0 },
  });
  return { vp8: codec(), opus: codec() };
}

/** How many bytes at the start of `frame` stay clear for `codec`. */
export function clearPrefixLength(codec: MediaCodec, frame: Uint8Array): number {
  if (codec === "opus") return 0;
  const first = frame[0];
  if (first === undefined) return 0;
  const isKeyFrame = (first & 0x01) === 0;
  return Math.min(frame.length, isKeyFrame ? VP8_KEY_FRAME_CLEAR_BYTES : VP8_DELTA_FRAME_CLEAR_BYTES);
}

/** `prefix || SFrame(rest)` for one encoded frame; throws `SFrameEncryptError` without a key. */
export async function protectFrame(context: SFrameContext, codec: MediaCodec, frame: Uint8Array): Promise<Bytes> {
  const prefixLength = clearPrefixLength(codec, frame);
  const prefix = frame.subarray(0, prefixLength);
  return concatBytes(prefix, await context.encrypt(frame.subarray(prefixLength), prefix));
}

/** The original frame back from `protectFrame`'s output, or why not. Never throws. */
export async function unprotectFrame(context: SFrameContext, codec: MediaCodec, frame: Uint8Array): Promise<DecryptResult> {
  const prefixLength = clearPrefixLength(codec, frame);
  // A protected frame always has at least a header byte after the prefix.
  if (frame.length <= prefixLength) return { ok: false, reason: "malformed" };
  const prefix = frame.subarray(0, prefixLength);
  const result = await context.decrypt(frame.subarray(prefixLength), prefix);
  return result.ok ? { ...result, plaintext: concatBytes(prefix, result.plaintext) } : result;
}

export interface StreamHooks {
  /** Called before each decryption with the time in ms (lets the epoch keys expire). */
  readonly beforeDecrypt?: () => void;
  /** Asks the sender for a key frame (the worker transformer's `sendKeyFrameRequest`). */
  readonly requestKeyFrame?: () => void;
  /** The clock for rate-limiting key frame requests, in ms. */
  readonly now?: () => number;
}

/**
 * A transform stream that encrypts or decrypts each frame's `data` in place and passes it on, or
 * drops it and counts why. Frames leave in the order they came.
 */
export function sframeTransformStream<Frame extends EncodedFrame>(
  context: SFrameContext,
  options: TransformOptions,
  stats: SFrameStats,
  hooks: StreamHooks = {},
): TransformStream<Frame, Frame> {
  const counts = stats[options.codec];
  // After a dropped video frame the decoder misses a reference; once frames decrypt again, a new
  // key frame lets it recover sooner than waiting for the next one.
  let droppedSinceKeyFrameRequest = false;
  let lastKeyFrameRequest = Number.NEGATIVE_INFINITY;
  return new TransformStream<Frame, Frame>({
    async transform(frame, controller) {
      const data = new Uint8Array(frame.data);
      if (options.direction === "encrypt") {
        try {
          frame.data = (await protectFrame(context, options.codec, data)).buffer;
        } catch (error) {
          if (!(error instanceof SFrameEncryptError)) console.warn("SFrame: a frame could not be encrypted");
          counts.encryptFailed += 1;
          return;
        }
        counts.encrypted += 1;
        controller.enqueue(frame);
        return;
      }
      hooks.beforeDecrypt?.();
      const result = await unprotectFrame(context, options.codec, data);
      if (!result.ok) {
        counts.decryptFailed[result.reason] += 1;
        droppedSinceKeyFrameRequest = true;
        return;
      }
      counts.decrypted += 1;
      frame.data = result.plaintext.buffer;
      controller.enqueue(frame);
      if (droppedSinceKeyFrameRequest && options.codec === "vp8" && hooks.requestKeyFrame) {
        const now = hooks.now?.() ?? 0;
        if (now - lastKeyFrameRequest >= KEY_FRAME_REQUEST_INTERVAL_MS) {
          lastKeyFrameRequest = now;
          droppedSinceKeyFrameRequest = false;
          hooks.requestKeyFrame();
        }
      }
    },
  });
}

// ---- The worker side -------------------------------------------------------------------------

/** Messages the page sends to the SFrame worker. Each gets one reply with the same `id`. */
export type WorkerRequest =
  | ({ readonly type: "epoch"; readonly id: number } & EpochInstall)
  | { readonly type: "stats"; readonly id: number }
  | {
      readonly type: "streams";
      readonly id: number;
      readonly readable: ReadableStream<EncodedFrame>;
      readonly writable: WritableStream<EncodedFrame>;
      readonly options: TransformOptions;
    };

export type WorkerReply =
  | { readonly type: "done"; readonly id: number }
  | { readonly type: "stats"; readonly id: number; readonly stats: SFrameStats }
  | { readonly type: "error"; readonly id: number; readonly message: string };

/** The `transformer` of an `rtctransform` event in a worker (not in TypeScript's DOM types). */
export interface ScriptTransformer {
  readonly readable: ReadableStream<EncodedFrame>;
  readonly writable: WritableStream<EncodedFrame>;
  readonly options: unknown;
  sendKeyFrameRequest?(): Promise<void>;
}

/** The parts of `DedicatedWorkerGlobalScope` the worker uses. */
export interface SFrameWorkerScope {
  postMessage(message: WorkerReply): void;
  addEventListener(type: "message", listener: (event: { readonly data: unknown }) => void): void;
  addEventListener(type: "rtctransform", listener: (event: { readonly transformer: ScriptTransformer }) => void): void;
}

/**
 * Serves one participant's SFrame in a worker: one `SFrameContext` and one set of epoch keys for
 * every transform in it, so all outgoing streams share the participant's KID and counter.
 */
export function serveSFrameWorker(scope: SFrameWorkerScope, clock: () => number = () => performance.now()): void {
  const context = new SFrameContext();
  const epochs = new SFrameEpochKeys(context);
  const stats = emptyStats();
  const run = (readable: ReadableStream<EncodedFrame>, writable: WritableStream<EncodedFrame>, options: TransformOptions, transformer?: ScriptTransformer) => {
    const hooks: StreamHooks = {
      beforeDecrypt: () => epochs.expire(clock()),
      now: clock,
      ...(transformer?.sendKeyFrameRequest ? { requestKeyFrame: () => void transformer.sendKeyFrameRequest?.().catch(() => undefined) } : {}),
    };
    readable
      .pipeThrough(sframeTransformStream(context, options, stats, hooks))
      .pipeTo(writable)
      .catch(() => undefined); // The stream ends when the sender or receiver goes away.
  };

  scope.addEventListener("rtctransform", (event) => {
    const options = parseTransformOptions(event.transformer.options);
    if (options === null) {
      // Without valid options nothing may pass: an unknown direction must not leak plaintext.
      event.transformer.readable.cancel().catch(() => undefined);
      return;
    }
    run(event.transformer.readable, event.transformer.writable, options, event.transformer);
  });

  scope.addEventListener("message", (event) => {
    const request = parseRequest(event.data);
    if (request === null) return;
    const reply = (message: WorkerReply) => scope.postMessage(message);
    switch (request.type) {
      case "epoch":
        epochs.installEpoch(request, clock()).then(
          () => reply({ type: "done", id: request.id }),
          (error: unknown) => reply({ type: "error", id: request.id, message: error instanceof Error ? error.message : "epoch not installed" }),
        );
        break;
      case "stats":
        reply({ type: "stats", id: request.id, stats: structuredClone(stats) });
        break;
      case "streams":
        run(request.readable, request.writable, request.options);
        reply({ type: "done", id: request.id });
        break;
    }
  });
}

export function parseTransformOptions(value: unknown): TransformOptions | null {
  if (typeof value !== "object" || value === null) return null;
  const { direction, codec } = value as Record<string, unknown>;
  if ((direction !== "encrypt" && direction !== "decrypt") || (codec !== "vp8" && codec !== "opus")) return null;
  return { direction, codec };
}

function parseRequest(value: unknown): WorkerRequest | null {
  if (typeof value !== "object" || value === null) return null;
  const message = value as Record<string, unknown>;
  const id = message.id;
  if (typeof id !== "number") return null;
  switch (message.type) {
    case "stats":
      return { type: "stats", id };
    case "epoch": {
      const { epoch, baseKey, ownIndex, memberIndices, restart } = message;
      if (typeof epoch !== "bigint" || !(baseKey instanceof Uint8Array) || typeof ownIndex !== "number") return null;
      if (!Array.isArray(memberIndices) || !memberIndices.every((member): member is number => typeof member === "number")) return null;
      return { type: "epoch", id, epoch, baseKey, ownIndex, memberIndices, restart: restart === true };
    }
    case "streams": {
      const options = parseTransformOptions(message.options);
      const { readable, writable } = message;
      if (options === null || !(readable instanceof ReadableStream) || !(writable instanceof WritableStream)) return null;
      return { type: "streams", id, readable: readable as ReadableStream<EncodedFrame>, writable: writable as WritableStream<EncodedFrame>, options };
    }
    default:
      return null;
  }
}
