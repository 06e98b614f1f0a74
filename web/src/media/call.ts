//! The meeting's audio and video in this browser: one `RTCPeerConnection` to the server's media
//! relay (the SFU), on which this participant sends microphone, camera and — when allowed — the
//! screen, and receives every other participant's tracks. Every frame is SFrame-encrypted
//! before it leaves the browser and decrypted only after it arrives (`sframe/`), with keys from
//! the meeting's MLS group: each epoch's `MLS-Exporter("SFrame 1.0 Base Key", "", 16)` and one
//! key id per sender (RFC 9605 §5.2). The SFU forwards ciphertext it cannot read; a browser that
//! is connected to it but not in the MLS group decodes nothing.
//!
//! Negotiation: this side offers once, with three sendonly m-lines (audio, camera, screen; the
//! screen's has no track until sharing starts, so starting and stopping a share needs no new
//! offer). The SFU then offers each other participant's tracks (`media_offer`), which this side
//! answers; the msid of each says whose track it is (stream id: the person's number) and which
//! (track id: `audio`, `camera` or `screen`). Video is VP8, audio Opus (what the SFrame
//! transform handles).
//!
//! What this module deliberately does not do: decide who may send or receive (the meeting and
//! the SFU do), or draw tiles (the room does, from `remote` events).

import type { ClientMessage, ServerMessage } from "../generated/signalling";
import { SFrameMedia } from "../sframe/media";
import type { EpochInstall } from "../sframe/mls";
import { sframeWorkerScript } from "../trusted-types";

export type MediaClientMessage = Extract<ClientMessage, { type: `media_${string}` }>;
export type MediaServerMessage = Extract<ServerMessage, { type: `media_${string}` }>;

export type TrackLabel = "audio" | "camera" | "screen";

export interface CallEvents {
  /** A track of another participant arrived (or was replaced). */
  remote(person: number, label: TrackLabel, track: MediaStreamTrack): void;
}

/** What `stats()` reports, for the page and the tests. */
export interface CallStats {
  /** Frames decoded per remote video track, by `person:label`. */
  readonly framesDecoded: Readonly<Record<string, number>>;
  /** Audio samples received per remote audio track, by `person:label`. */
  readonly samplesReceived: Readonly<Record<string, number>>;
  /** The SFrame worker's counters. */
  readonly sframe: Awaited<ReturnType<SFrameMedia["stats"]>>;
}

export class MeetingCall {
  readonly #pc: RTCPeerConnection;
  readonly #sframe: SFrameMedia;
  readonly #worker: Worker;
  readonly #send: (message: MediaClientMessage) => boolean;
  readonly #events: CallEvents;
  #screen: RTCRtpTransceiver | null = null;
  /** Remote tracks by receiver, to name them in stats. */
  readonly #remote = new Map<RTCRtpReceiver, string>();
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(iceServers: readonly RTCIceServer[], send: (message: MediaClientMessage) => boolean, events: CallEvents) {
    const scriptTransform = typeof RTCRtpScriptTransform === "function";
    const configuration: RTCConfiguration & { encodedInsertableStreams?: boolean } = {
      iceServers: [...iceServers],
      bundlePolicy: "max-bundle",
      rtcpMuxPolicy: "require",
    };
    if (!scriptTransform) configuration.encodedInsertableStreams = true;
    this.#pc = new RTCPeerConnection(configuration);
    this.#worker = new Worker(sframeWorkerScript());
    this.#sframe = new SFrameMedia(this.#worker);
    this.#send = send;
    this.#events = events;
    this.#pc.addEventListener("track", (event) => void this.#track(event));
  }

  /**
   * Connects to the SFU sending `local`'s microphone and camera, every frame encrypted (frames
   * are dropped, never sent in the clear, until the first epoch's keys are installed).
   */
  static async start(iceServers: readonly RTCIceServer[], local: MediaStream, send: (message: MediaClientMessage) => boolean, events: CallEvents): Promise<MeetingCall> {
    const call = new MeetingCall(iceServers, send, events);
    await call.#publish(local);
    return call;
  }

  /** Installs an MLS epoch's SFrame keys (this member's own and every other member's). */
  async installEpoch(install: EpochInstall): Promise<void> {
    await this.#sframe.installEpoch(install);
  }

  /** Handles the SFU's answer to this side's offer, or its offer of other participants' tracks. */
  handle(message: MediaServerMessage): void {
    this.#serial(async () => {
      if (message.type === "media_answer") {
        await this.#pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
      } else {
        await this.#pc.setRemoteDescription({ type: "offer", sdp: message.sdp });
        const answer = await this.#pc.createAnswer();
        await this.#pc.setLocalDescription(answer);
        this.#send({ type: "media_answer", sdp: answer.sdp ?? "" });
      }
    });
  }

  /** Starts (`track`) or stops (`null`) sending the screen, encrypted like everything else. */
  async shareScreen(track: MediaStreamTrack | null): Promise<void> {
    await this.#screen?.sender.replaceTrack(track);
  }

  async stats(): Promise<CallStats> {
    const framesDecoded: Record<string, number> = {};
    const samplesReceived: Record<string, number> = {};
    for (const [receiver, name] of this.#remote) {
      const report = await receiver.getStats();
      report.forEach((entry: { type: string; framesDecoded?: number; totalSamplesReceived?: number }) => {
        if (entry.type !== "inbound-rtp") return;
        if (entry.framesDecoded !== undefined) framesDecoded[name] = entry.framesDecoded;
        if (entry.totalSamplesReceived !== undefined) samplesReceived[name] = entry.totalSamplesReceived;
      });
    }
    return { framesDecoded, samplesReceived, sframe: await this.#sframe.stats() };
  }

  close(): void {
    this.#closed = true;
    this.#pc.close();
    this.#worker.terminate();
  }

  async #publish(local: MediaStream): Promise<void> {
    const audio = local.getAudioTracks()[0];
    const camera = local.getVideoTracks()[0];
    const audioTransceiver = this.#pc.addTransceiver(audio ?? "audio", { direction: "sendonly", streams: [local] });
    const cameraTransceiver = this.#pc.addTransceiver(camera ?? "video", { direction: "sendonly", streams: [local] });
    // The screen's m-line comes after the camera's: the SFU tells them apart by order.
    const screen = this.#pc.addTransceiver("video", { direction: "sendonly", streams: [local] });
    this.#screen = screen;
    preferCodec(audioTransceiver, "audio", "audio/opus");
    preferCodec(cameraTransceiver, "video", "video/VP8");
    preferCodec(screen, "video", "video/VP8");
    await this.#sframe.attachSender(audioTransceiver.sender, "opus");
    await this.#sframe.attachSender(cameraTransceiver.sender, "vp8");
    await this.#sframe.attachSender(screen.sender, "vp8");
    const offer = await this.#pc.createOffer();
    await this.#pc.setLocalDescription(offer);
    this.#send({ type: "media_offer", sdp: offer.sdp ?? "" });
  }

  async #track(event: RTCTrackEvent): Promise<void> {
    if (this.#closed) return;
    const person = Number(event.streams[0]?.id);
    const label = event.track.id;
    if (!Number.isSafeInteger(person) || (label !== "audio" && label !== "camera" && label !== "screen")) return;
    this.#remote.set(event.receiver, `${person}:${label}`);
    await this.#sframe.attachReceiver(event.receiver, event.track.kind === "audio" ? "opus" : "vp8");
    this.#events.remote(person, label, event.track);
  }

  #serial(work: () => Promise<void>): void {
    this.#queue = this.#queue.then(work).catch((error: unknown) => {
      if (!this.#closed) console.error("Trygg: media negotiation", error);
    });
  }
}

/** Puts `mimeType` (and its retransmission codec) first, so it is what is negotiated. */
function preferCodec(transceiver: RTCRtpTransceiver, kind: "audio" | "video", mimeType: string): void {
  const capabilities = RTCRtpReceiver.getCapabilities(kind);
  if (capabilities === null || typeof transceiver.setCodecPreferences !== "function") return;
  const wanted = capabilities.codecs.filter((codec) => codec.mimeType.toLowerCase() === mimeType.toLowerCase());
  const rest = capabilities.codecs.filter((codec) => codec.mimeType.toLowerCase() === `${kind}/rtx`);
  if (wanted.length > 0) transceiver.setCodecPreferences([...wanted, ...rest]);
}
