//! The meeting room, for everyone admitted: who is here (with host controls for the host side),
//! the lobby with each waiting person's details and a conversation with them (host side), one's
//! own screen share, and leaving. Every change comes from the server over the signalling
//! WebSocket and is shown at once; the buttons only send requests, which the server may refuse.
//!
//! Also the page `/meetings/<id>/room`, where a member of staff opens a meeting they host.
//!
//! The chat is end-to-end encrypted: MLS application messages of the meeting's group
//! (`mls/group.ts`), which the server relays without being able to read; beside it the group's
//! safety code, which participants compare aloud.
//!
//! Audio and video go through the server's media relay (`media/call.ts`), SFrame-encrypted with
//! the keys of the group's current epoch; each participant gets a tile, which says when its video
//! cannot be decrypted. A screen share is captured locally, sent on the call's screen track while
//! the server allows it, and stops the moment the server says so.

import { fetchSession } from "./api";
import { element, Localized, type Message } from "./dom";
import { isSignedOut, logIfUnexpected } from "./errors";
import { alertRegion, field, form, submitButton, type Alert } from "./forms";
import type { KnockWire, ParticipantWire, ServerEnvelope, StandingWire } from "./generated/signalling";
import { translate, type Lang, type MessageKey } from "./i18n";
import { pageHeading, type Page, type PageContext } from "./page";
import { meetingIdOf, paths } from "./router";
import { MeetingCall, type MediaServerMessage, type TrackLabel } from "./media/call";
import { MeetingGroup, type GroupView, type MlsServerMessage } from "./mls/group";
import { describeDevice, Signalling, type ConnectionState } from "./signalling";

type InMeeting = Extract<StandingWire, { state: "in_meeting" }>;

/** The User Timing mark of the first decoded frame of another participant's video. */
const FIRST_REMOTE_FRAME = "trygg:first-remote-frame";

/** What ended one's time in the meeting, for the closing screen. */
export type Ending = "removed" | "banned" | "ended" | "left" | "sessionEnded" | "rejected" | "expired" | "lost";

const endingText: Readonly<Record<Ending, MessageKey>> = {
  removed: "roomRemoved",
  banned: "roomBanned",
  ended: "roomEnded",
  left: "roomLeft",
  sessionEnded: "roomSessionEnded",
  rejected: "roomRejected",
  expired: "roomExpired",
  lost: "roomLost",
};

const roleText: Readonly<Record<string, MessageKey>> = {
  host: "roleHost",
  co_host: "roleCoHost",
  participant: "roleParticipant",
};

const refusalText: Readonly<Record<string, MessageKey>> = {
  not_permitted: "refusedNotPermitted",
  screen_share_not_allowed: "refusedScreenShare",
  screen_share_in_use: "refusedScreenShareInUse",
  target_protected: "refusedProtected",
  lobby_message_limit: "refusedLobbyLimit",
  ban_needs_identity: "refusedBanNeedsIdentity",
};

/** The message for a refusal the server named. */
export function refusalMessage(code: string): Message {
  return { key: refusalText[code] ?? "refusedOther", params: { code } };
}

/** The room of one admitted person, drawn into `container`. */
export class Room {
  readonly root: HTMLElement;
  readonly #texts: Localized;
  readonly #signalling: Signalling;
  readonly #ended: (ending: Ending) => void;
  #you: number;
  #roster = new Map<number, ParticipantWire>();
  #lobby = new Map<number, KnockWire>();
  #chat = new Map<number, Array<{ readonly from: number; readonly text: string }>>();
  #locked = false;
  #share: MediaStream | null = null;
  #partTexts: Localized;
  readonly #alert: Alert;
  readonly #status: HTMLElement;
  #announced: Message | null = null;
  readonly #people = element("ul", { class: "people", "aria-labelledby": "room-people-heading" });
  readonly #lobbyList = element("div", { class: "lobby-knocks" });
  readonly #lobbySection: HTMLElement;
  readonly #controls = element("div", { class: "room-controls" });
  readonly #preview = element("video", { class: "share-preview", muted: "", playsinline: "", autoplay: "" });
  readonly #group: MeetingGroup;
  #groupView: GroupView | null = null;
  readonly #chatLog = element("ol", { class: "meeting-chat", id: "meeting-chat" });
  readonly #chatForm: HTMLFormElement;
  readonly #chatInput: HTMLInputElement;
  readonly #safety = element("p", { class: "safety-code", id: "safety-code", "aria-live": "polite" });
  /** TURN relays for the media connection (the server sends them on entering). */
  #iceServers: RTCIceServer[] = [];
  #call: MeetingCall | null = null;
  #camera: MediaStream | null = null;
  #statsTimer: ReturnType<typeof setInterval> | null = null;
  #disposed = false;
  readonly #tiles = element("div", { class: "tiles", id: "media-tiles" });

  constructor(texts: Localized, signalling: Signalling, meetingId: string, standing: InMeeting, ended: (ending: Ending) => void) {
    this.#texts = texts;
    this.#signalling = signalling;
    this.#ended = ended;
    this.#you = standing.you.person;
    this.#group = new MeetingGroup(standing.you.person, meetingId, (message) => void this.#signalling.send(message), {
      changed: (view) => {
        this.#groupView = view;
        this.#texts.apply();
        void this.#installKeys();
      },
      chat: (from, text) => this.#chatLine(from, text),
      refused: (what) => this.#alert.show({ key: what === "planted_add" ? "mlsPlantedAddRefused" : "mlsUnreadable" }),
    });
    this.#partTexts = new Localized(texts.lang);
    texts.bind((_t, lang) => this.#partTexts.apply(lang));
    this.#alert = alertRegion(texts, "room-error");
    this.#status = element("p", { class: "status-inline", role: "status", id: "room-status" });
    texts.bind((t) => (this.#status.textContent = this.#announced ? t(this.#announced.key, this.#announced.params) : ""));
    this.#preview.hidden = true;
    this.#lobbySection = element(
      "section",
      { class: "lobby-panel", "aria-labelledby": "room-lobby-heading" },
      texts.text(element("h2", { id: "room-lobby-heading" }), "lobbyTitle"),
      this.#lobbyList,
    );
    const chatField = field(texts, {
      id: "meeting-chat-message",
      label: "chatMessageLabel",
      attributes: { type: "text", maxlength: "2000", autocomplete: "off" },
    });
    this.#chatInput = chatField.input;
    this.#chatForm = form(
      { class: "form inline", "aria-labelledby": "room-chat-heading" },
      () => {
        const text = this.#chatInput.value.trim();
        if (text === "") return;
        if (!this.#group.sendChat(text)) {
          this.#alert.show({ key: "chatNotReady" });
          return;
        }
        this.#chatInput.value = "";
        this.#chatLine(this.#you, text);
      },
      chatField.row,
      submitButton(texts, "sendMessage").button,
    );
    texts.bind((t) => {
      const view = this.#groupView;
      this.#safety.textContent = view === null ? t("safetyCodePending") : t("safetyCode", { code: view.safetyCode });
      this.#safety.dataset.code = view?.safetyCode ?? "";
      this.#safety.dataset.epoch = view === null ? "" : String(view.epoch);
      this.#safety.dataset.members = view === null ? "" : view.members.join(",");
      this.#chatForm.hidden = view === null;
    });
    const media = element(
      "section",
      { class: "media-region", "aria-labelledby": "room-media-heading" },
      texts.text(element("h2", { id: "room-media-heading" }), "mediaTitle"),
      this.#tiles,
      this.#preview,
    );
    const chat = element(
      "section",
      { class: "chat-panel", "aria-labelledby": "room-chat-heading" },
      texts.text(element("h2", { id: "room-chat-heading" }), "chatTitle"),
      this.#safety,
      texts.text(element("p", { class: "hint" }), "safetyCodeExplained"),
      this.#chatLog,
      this.#chatForm,
    );
    this.root = element(
      "div",
      { class: "room", "data-you": String(this.#you) },
      this.#status,
      this.#alert.element,
      this.#controls,
      media,
      chat,
      element(
        "section",
        { class: "people-panel", "aria-labelledby": "room-people-heading" },
        texts.text(element("h2", { id: "room-people-heading" }), "peopleTitle"),
        this.#people,
      ),
      this.#lobbySection,
    );
    this.#load(standing);
    this.#group.start(standing.you.role === "host");
    void this.#startMedia();
  }

  /** The signalling connection came back after a drop. */
  reconnected(): void {
    this.#group.reconnected();
  }

  /** Handles one message from the server; returns false if it is not the room's business. */
  handle(message: ServerEnvelope): boolean {
    if (message.type.startsWith("mls_")) {
      this.#group.handle(message as MlsServerMessage);
      return true;
    }
    if (message.type === "media_answer" || message.type === "media_offer") {
      this.#call?.handle(message as MediaServerMessage);
      return true;
    }
    switch (message.type) {
      case "admitted":
      case "resumed":
        if (message.standing.state === "in_meeting") this.#load(message.standing);
        return true;
      case "participant_joined":
        this.#roster.set(message.participant.person, message.participant);
        break;
      case "participant_left":
        this.#roster.delete(message.person);
        break;
      case "role_changed":
        this.#patch(message.person, { role: message.role });
        break;
      case "mute_changed":
        this.#patch(message.person, { muted_by_host: message.muted_by_host });
        break;
      case "screen_share_changed":
        this.#patch(message.person, { screen_share_allowed: message.allowed, sharing: message.sharing });
        if (message.person === this.#you && !message.sharing) this.#stopLocalShare(false);
        break;
      case "connection_changed":
        this.#patch(message.person, { connected: message.connected });
        break;
      case "lock_changed":
        this.#locked = message.locked;
        break;
      case "ice_servers":
        this.#iceServers = message.servers.map((server) => ({ urls: server.urls, username: server.username, credential: server.credential }));
        return true;
      case "knock":
        this.#lobby.set(message.knock.person, message.knock);
        this.#announce({ key: "lobbyKnocked", params: { name: message.knock.name_given } });
        break;
      case "lobby":
        this.#lobby = new Map(message.knocks.map((knock) => [knock.person, knock]));
        break;
      case "knock_held": {
        const knock = this.#lobby.get(message.person);
        if (knock) this.#lobby.set(message.person, { ...knock, held: true, expires_at_ms: message.expires_at_ms });
        break;
      }
      case "knock_closed":
        this.#lobby.delete(message.person);
        this.#chat.delete(message.person);
        break;
      case "lobby_message": {
        const log = this.#chat.get(message.lobby_person) ?? [];
        log.push({ from: message.from, text: message.text });
        this.#chat.set(message.lobby_person, log.slice(-50));
        break;
      }
      case "removed":
        this.#stopLocalShare(false);
        this.#ended(message.banned ? "banned" : "removed");
        return true;
      case "meeting_ended":
        this.#stopLocalShare(false);
        this.#ended("ended");
        return true;
      case "refused":
        this.#alert.show(refusalMessage(message.code));
        return true;
      default:
        return false;
    }
    this.#render();
    return true;
  }

  dispose(): void {
    this.#disposed = true;
    this.#stopLocalShare(false);
    this.#group.close();
    this.#call?.close();
    this.#call = null;
    for (const track of this.#camera?.getTracks() ?? []) track.stop();
    this.#camera = null;
    if (this.#statsTimer !== null) clearInterval(this.#statsTimer);
  }

  /** Camera and microphone on, then the encrypted call through the media relay. */
  async #startMedia(): Promise<void> {
    let camera: MediaStream;
    try {
      camera = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    } catch {
      this.#alert.show({ key: "deviceFailed" });
      return;
    }
    if (this.#disposed) {
      for (const track of camera.getTracks()) track.stop();
      return;
    }
    this.#camera = camera;
    const own = this.#tile(this.#you, "camera");
    const video = own.querySelector("video");
    if (video) {
      video.muted = true;
      video.srcObject = camera;
    }
    try {
      this.#call = await MeetingCall.start(this.#iceServers, camera, (message) => this.#signalling.send(message), {
        remote: (person, label, track) => this.#remoteTrack(person, label, track),
      });
    } catch (error) {
      logIfUnexpected("the media connection failed", error);
      this.#alert.show({ key: "mediaFailed" });
      return;
    }
    if (this.#disposed) {
      this.#call.close();
      return;
    }
    await this.#installKeys();
    this.#statsTimer = setInterval(() => void this.#readStats(), 1000);
  }

  /** The group's current epoch keys into the media encryption. */
  async #installKeys(): Promise<void> {
    const call = this.#call;
    if (call === null) return;
    const install = await this.#group.epochInstall();
    if (install !== null) await call.installEpoch(install);
  }

  #remoteTrack(person: number, label: TrackLabel, track: MediaStreamTrack): void {
    if (label === "audio") {
      const audio = element("audio", { autoplay: "", "data-person": String(person) });
      audio.srcObject = new MediaStream([track]);
      this.#tiles.append(audio);
      track.addEventListener("ended", () => audio.remove());
      return;
    }
    const tile = this.#tile(person, label);
    const video = tile.querySelector("video");
    if (video === null) return;
    video.srcObject = new MediaStream([track]);
    // When the first frame of anyone else's video is on screen, for the join-time measurement
    // (User Timing, read by web/bench/join-time.mjs; nothing leaves the browser).
    if (performance.getEntriesByName(FIRST_REMOTE_FRAME).length === 0) {
      video.requestVideoFrameCallback(() => {
        if (performance.getEntriesByName(FIRST_REMOTE_FRAME).length === 0) performance.mark(FIRST_REMOTE_FRAME);
      });
    }
  }

  /** The tile of `person`'s camera or screen, made on first use. */
  #tile(person: number, label: TrackLabel): HTMLElement {
    const existing = this.#tiles.querySelector<HTMLElement>(`figure[data-person="${person}"][data-label="${label}"]`);
    if (existing) return existing;
    const caption = element("figcaption", {});
    const name = this.#roster.get(person)?.name;
    this.#texts.bind((t) => (caption.textContent = person === this.#you ? t("lobbyYou") : (name ?? t("chatUnknownSender"))));
    const tile = element(
      "figure",
      { class: "tile", "data-person": String(person), "data-label": label, "data-frames-decoded": "0" },
      element("video", { autoplay: "", playsinline: "", muted: "" }),
      caption,
    );
    // A screen tile shows only while frames of a share arrive.
    tile.hidden = label === "screen";
    this.#tiles.append(tile);
    return tile;
  }

  /** Frames decoded per tile and the encryption's counters, shown on the tiles. */
  async #readStats(): Promise<void> {
    const call = this.#call;
    if (call === null) return;
    const stats = await call.stats();
    for (const [name, frames] of Object.entries(stats.framesDecoded)) {
      const [person, label] = name.split(":");
      const tile = this.#tiles.querySelector<HTMLElement>(`figure[data-person="${person}"][data-label="${label}"]`);
      if (tile === null) continue;
      if (label === "screen" && frames !== Number(tile.dataset.framesDecoded)) tile.hidden = false;
      else if (label === "screen") tile.hidden = true;
      tile.dataset.framesDecoded = String(frames);
    }
    for (const [name, samples] of Object.entries(stats.samplesReceived)) {
      const audio = this.#tiles.querySelector<HTMLElement>(`audio[data-person="${name.split(":")[0]}"]`);
      if (audio) audio.dataset.samplesReceived = String(samples);
    }
    const failed = Object.values(stats.sframe.vp8.decryptFailed).reduce((sum, count) => sum + count, 0);
    this.#tiles.dataset.decrypted = String(stats.sframe.vp8.decrypted + stats.sframe.opus.decrypted);
    this.#tiles.dataset.decryptFailed = String(failed);
    this.#tiles.dataset.encrypted = String(stats.sframe.vp8.encrypted + stats.sframe.opus.encrypted);
  }

  /** One line of the encrypted chat: who (from the roster) and what. */
  #chatLine(from: number, text: string): void {
    const who = element("span", { class: "who" });
    const name = this.#roster.get(from)?.name;
    this.#texts.bind((t) => (who.textContent = from === this.#you ? t("lobbyYou") : (name ?? t("chatUnknownSender"))));
    this.#chatLog.append(element("li", { "data-from": String(from) }, who, ": ", text));
    while (this.#chatLog.children.length > 200) this.#chatLog.firstElementChild?.remove();
  }

  get #me(): ParticipantWire | undefined {
    return this.#roster.get(this.#you);
  }

  get #hostSide(): boolean {
    const role = this.#me?.role;
    return role === "host" || role === "co_host";
  }

  #load(standing: InMeeting): void {
    this.#you = standing.you.person;
    this.#roster = new Map(standing.roster.map((participant) => [participant.person, participant]));
    this.#lobby = new Map(standing.lobby.map((knock) => [knock.person, knock]));
    this.#locked = standing.locked;
    this.#render();
  }

  #patch(person: number, change: Partial<ParticipantWire>): void {
    const participant = this.#roster.get(person);
    if (participant) this.#roster.set(person, { ...participant, ...change });
  }

  #announce(message: Message): void {
    this.#announced = message;
    this.#texts.apply();
  }

  #send(message: Parameters<Signalling["send"]>[0]): void {
    this.#alert.show(null);
    if (!this.#signalling.send(message)) this.#alert.show({ key: "roomOffline" });
  }

  #render(): void {
    this.#partTexts = new Localized(this.#texts.lang);
    const t = this.#partTexts;
    this.root.dataset.locked = String(this.#locked);
    this.#people.replaceChildren(...[...this.#roster.values()].map((participant) => this.#personItem(participant)));
    this.#lobbySection.hidden = !this.#hostSide;
    this.#lobbyList.replaceChildren(
      ...(this.#lobby.size === 0
        ? [t.text(element("p", { class: "empty" }), "lobbyEmpty")]
        : [...this.#lobby.values()].map((knock) => this.#knockCard(knock))),
    );
    this.#controls.replaceChildren(...this.#ownControls());
    const participants = [...this.#roster.values()];
    this.#group.roster({
      present: new Set(participants.map((participant) => participant.person)),
      hostSide: new Set(participants.filter((participant) => participant.role === "host" || participant.role === "co_host").map((participant) => participant.person)),
    });
  }

  #button(key: MessageKey, onClick: () => void, attributes: Readonly<Record<string, string>> = {}): HTMLButtonElement {
    const button = this.#partTexts.text(element("button", { type: "button", class: "secondary", ...attributes }), key);
    button.addEventListener("click", onClick);
    return button;
  }

  #ownControls(): HTMLElement[] {
    const me = this.#me;
    const controls: HTMLElement[] = [];
    const t = this.#partTexts;
    const lockState = t.text(element("p", { class: "lock-state", "data-locked": String(this.#locked) }), this.#locked ? "roomLocked" : "roomOpen");
    controls.push(lockState);
    if (me?.screen_share_allowed && !me.sharing) {
      controls.push(this.#button("shareScreen", () => void this.#startShare(), { "data-action": "share" }));
    }
    if (me?.sharing) {
      controls.push(this.#button("stopSharing", () => this.#send({ type: "stop_screen_share", person: this.#you }), { "data-action": "stop-share" }));
    }
    if (this.#hostSide) {
      controls.push(
        this.#locked
          ? this.#button("unlockMeeting", () => this.#send({ type: "unlock" }), { "data-action": "unlock" })
          : this.#button("lockMeeting", () => this.#send({ type: "lock" }), { "data-action": "lock" }),
      );
    }
    if (me?.role === "host") {
      controls.push(this.#button("endForAll", () => this.#send({ type: "end_for_all" }), { class: "secondary danger", "data-action": "end" }));
    }
    controls.push(
      this.#button(
        "leaveMeeting",
        () => {
          this.#send({ type: "leave" });
          this.#stopLocalShare(false);
          this.#ended("left");
        },
        { "data-action": "leave" },
      ),
    );
    return controls;
  }

  #personItem(participant: ParticipantWire): HTMLLIElement {
    const t = this.#partTexts;
    const self = participant.person === this.#you;
    const nameId = `person-${participant.person}-name`;
    const badges = element("span", { class: "badges" });
    const badge = (key: MessageKey) => badges.append(" ", t.text(element("span", { class: "badge" }), key));
    badge(roleText[participant.role] ?? "roleParticipant");
    if (self) badge("youBadge");
    if (participant.verified) badge("verifiedBadge");
    if (participant.muted_by_host) badge("mutedBadge");
    if (participant.sharing) badge("sharingBadge");
    if (!participant.connected) badge("reconnectingBadge");
    const item = element(
      "li",
      {
        "data-person": String(participant.person),
        "data-sharing": String(participant.sharing),
        "data-share-allowed": String(participant.screen_share_allowed),
      },
      element("strong", { id: nameId }, participant.name),
      badges,
    );
    const me = this.#me;
    const protectedTarget = participant.role === "host" || (participant.role === "co_host" && me?.role !== "host");
    if (!self && this.#hostSide && !protectedTarget) {
      const person = participant.person;
      const actions = element("div", { class: "person-actions", role: "group", "aria-labelledby": nameId });
      actions.append(
        participant.muted_by_host
          ? this.#button("unmute", () => this.#send({ type: "set_muted", person, muted: false }), { "data-action": "unmute" })
          : this.#button("mute", () => this.#send({ type: "set_muted", person, muted: true }), { "data-action": "mute" }),
        participant.screen_share_allowed
          ? this.#button("denyScreenShare", () => this.#send({ type: "set_screen_share_allowed", person, allowed: false }), {
              "data-action": "deny-share",
            })
          : this.#button("allowScreenShare", () => this.#send({ type: "set_screen_share_allowed", person, allowed: true }), {
              "data-action": "allow-share",
            }),
      );
      if (participant.sharing) {
        actions.append(this.#button("stopTheirShare", () => this.#send({ type: "stop_screen_share", person }), { "data-action": "stop-their-share" }));
      }
      if (me?.role === "host") {
        actions.append(
          participant.role === "co_host"
            ? this.#button("demoteCoHost", () => this.#send({ type: "set_co_host", person, co_host: false }), { "data-action": "demote" })
            : this.#button("promoteCoHost", () => this.#send({ type: "set_co_host", person, co_host: true }), { "data-action": "promote" }),
        );
      }
      actions.append(this.#button("removePerson", () => this.#send({ type: "remove", person, ban: false }), { class: "secondary danger", "data-action": "remove" }));
      if (me?.role === "host" && participant.verified) {
        actions.append(this.#button("removeAndBan", () => this.#send({ type: "remove", person, ban: true }), { class: "secondary danger", "data-action": "ban" }));
      }
      item.append(actions);
    }
    return item;
  }

  #knockCard(knock: KnockWire): HTMLElement {
    const t = this.#partTexts;
    const person = knock.person;
    const headingId = `knock-${person}-name`;
    const facts = element("dl", { class: "facts" });
    const fact = (key: MessageKey, value: string) => facts.append(t.text(element("dt"), key), element("dd", {}, value));
    if (knock.identity) {
      fact("knockVerifiedName", knock.identity.verified_name ?? "–");
      if (knock.identity.personal_number) fact("knockPersonalNumber", knock.identity.personal_number);
    } else {
      const unverified = element("dd");
      t.bind((tr) => (unverified.textContent = tr("knockNotVerified")));
      facts.append(t.text(element("dt"), "knockIdentity"), unverified);
    }
    fact("knockDevice", `${knock.browser}, ${knock.device}`);
    const risk = element("dd", { "data-risk": knock.risk_level });
    t.bind((tr) => {
      const level = tr(knock.risk_level === "high" ? "riskHigh" : knock.risk_level === "elevated" ? "riskElevated" : "riskLow");
      risk.textContent = knock.risk_signals.length > 0 ? `${level} (${knock.risk_signals.join(", ")})` : level;
    });
    facts.append(t.text(element("dt"), "knockRisk"), risk);

    const log = element("ol", { class: "lobby-chat", "aria-label": "" });
    t.attribute(log, "aria-label", "lobbyChatLabel", { name: knock.name_given });
    for (const line of this.#chat.get(person) ?? []) {
      const who = element("span", { class: "who" });
      t.bind((tr) => (who.textContent = line.from === person ? knock.name_given : tr("lobbyYou")));
      log.append(element("li", {}, who, ": ", line.text));
    }
    const chatField = field(t, {
      id: `knock-${person}-message`,
      label: "lobbyMessageLabel",
      attributes: { type: "text", maxlength: "500", autocomplete: "off" },
    });
    const chat = form({ class: "form inline" }, () => {
      const text = chatField.input.value.trim();
      if (text === "") return;
      this.#send({ type: "message_to_lobby", person, text });
      chatField.input.value = "";
    }, chatField.row, submitButton(t, "sendMessage").button);

    const reasonField = field(t, {
      id: `knock-${person}-reason`,
      label: "lobbyReasonLabel",
      hint: { key: "lobbyReasonHint" },
      attributes: { type: "text", maxlength: "200", autocomplete: "off" },
    });
    const reasonText = (fallback: MessageKey): string => reasonField.input.value.trim() || translate(this.#texts.lang, fallback);
    const decisions = element(
      "div",
      { class: "actions" },
      this.#button("admit", () => this.#send({ type: "admit", person }), { class: "primary", "data-action": "admit" }),
      this.#button("hold", () => this.#send({ type: "hold", person, message: reasonText("holdDefault") }), { "data-action": "hold" }),
      this.#button("reject", () => this.#send({ type: "reject", person, reason: reasonText("rejectDefault") }), {
        class: "secondary danger",
        "data-action": "reject",
      }),
    );
    return element(
      "article",
      { class: "knock", "data-person": String(person), "data-held": String(knock.held), "aria-labelledby": headingId },
      element("h3", { id: headingId }, knock.name_given),
      facts,
      log,
      chat,
      reasonField.row,
      decisions,
    );
  }

  async #startShare(): Promise<void> {
    this.#alert.show(null);
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch {
      this.#alert.show({ key: "shareCancelled" });
      return;
    }
    this.#share = stream;
    this.#preview.srcObject = stream;
    this.#preview.hidden = false;
    await this.#call?.shareScreen(stream.getVideoTracks()[0] ?? null);
    for (const track of stream.getTracks()) {
      // The browser's own "stop sharing" button.
      track.addEventListener("ended", () => {
        if (this.#share === stream) this.#send({ type: "stop_screen_share", person: this.#you });
      });
    }
    if (!this.#signalling.send({ type: "start_screen_share" })) {
      this.#stopLocalShare(false);
      this.#alert.show({ key: "roomOffline" });
    }
  }

  /** Stops the local capture (after the server said the share is off, or when leaving). */
  #stopLocalShare(tell: boolean): void {
    const stream = this.#share;
    if (stream === null) return;
    this.#share = null;
    void this.#call?.shareScreen(null);
    for (const track of stream.getTracks()) track.stop();
    this.#preview.srcObject = null;
    this.#preview.hidden = true;
    if (tell) this.#send({ type: "stop_screen_share", person: this.#you });
  }
}

/** The closing screen after one's time in a meeting. */
export function endingScreen(texts: Localized, ending: Ending, detail: string | null): HTMLElement {
  const screen = element("div", { class: "room-ending", "data-ending": ending }, texts.text(element("p", { class: "lead", role: "status" }), endingText[ending]));
  if (detail !== null) screen.append(element("p", { class: "ending-detail" }, detail));
  return screen;
}

/** `/meetings/<id>/room`: a member of staff opens a meeting they host and enters it. */
export function roomPage(context: PageContext): Page {
  const texts = new Localized(context.lang());
  const heading = pageHeading(texts, "roomTitle");
  const connection = element("p", { class: "status-inline", id: "room-connection" });
  let connectionKey: MessageKey = "roomConnecting";
  texts.bind((t) => (connection.textContent = t(connectionKey)));
  const body = element("div");
  const root = element("div", { class: "page wide" }, heading, connection, body);
  const meetingId = meetingIdOf(location.pathname);
  let room: Room | null = null;
  let signalling: Signalling | null = null;
  let name = "";
  let disposed = false;

  const finish = (ending: Ending) => {
    signalling?.stop();
    room?.dispose();
    room = null;
    body.replaceChildren(endingScreen(texts, ending, null));
  };

  const setConnection = (key: MessageKey) => {
    connectionKey = key;
    texts.apply();
  };

  const onMessage = (message: ServerEnvelope) => {
    if (room?.handle(message)) return;
    switch (message.type) {
      case "welcome":
      case "resumed":
      case "admitted": {
        const standing = message.standing;
        if (standing.state === "in_meeting") {
          if (room === null && signalling !== null) {
            room = new Room(texts, signalling, meetingId ?? "", standing, finish);
            body.replaceChildren(room.root);
          }
        } else if (standing.state === "joining") {
          advance(standing.step);
        }
        break;
      }
      case "join_step":
        advance(message.step);
        break;
      case "refused":
        body.replaceChildren(element("p", { class: "alert-static", role: "alert" }, message.code));
        break;
      case "session_ended":
        finish("sessionEnded");
        break;
      default:
        break;
    }
  };

  // A host skips the lobby: the device check is this browser's, and then they enter.
  const advance = (step: string) => {
    if (signalling === null) return;
    if (step === "device") signalling.send({ type: "device", ...describeDevice(), supported: true });
    if (step === "ready") signalling.send({ type: "enter", name });
  };

  const onState = (state: ConnectionState, code: number | null) => {
    if (disposed) return;
    if (state === "open") {
      setConnection("roomConnected");
      room?.reconnected();
    }
    else if (state === "reconnecting") setConnection("roomReconnecting");
    else if (state === "closed") {
      setConnection("roomDisconnected");
      if (room !== null) finish(code === 4001 ? "sessionEnded" : "lost");
    }
  };

  if (meetingId === null) {
    body.replaceChildren(texts.text(element("p", { class: "alert-static", role: "alert" }), "joinMeetingNotFound"));
  } else {
    fetchSession().then(
      (info) => {
        if (disposed) return;
        context.setSignedIn(info.account);
        name = info.account.display_name;
        signalling = new Signalling(meetingId, { message: onMessage, state: onState });
      },
      (error: unknown) => {
        if (disposed) return;
        if (isSignedOut(error)) {
          context.setSignedIn(null);
          context.navigate(paths.signIn, { replace: true });
          return;
        }
        logIfUnexpected("could not open the meeting room", error);
        body.replaceChildren(texts.text(element("p", { class: "alert-static", role: "alert" }), "unexpectedError"));
      },
    );
  }

  return {
    root,
    title: "roomTitle",
    render: (lang: Lang) => texts.apply(lang),
    focus: () => heading.focus(),
    dispose: () => {
      disposed = true;
      room?.dispose();
      signalling?.stop();
    },
  };
}
