//! The meeting's MLS group in this browser (RFC 9420, ciphersuite 0x0001, through `ts-mls`): the
//! keys that end-to-end encrypt the meeting's chat (and, from the same epochs, its media).
//!
//! The server is only the delivery service: it orders commits, hands out key packages and
//! forwards Welcomes and ciphertext; it holds no group secret. So the client decides what it
//! accepts:
//!
//! - **No planted participants.** A commit that adds someone is processed only if its committer
//!   is on the host side of the meeting and, before committing, announced that very person as
//!   admitted in an MLS application message of its own (so the announcement is authenticated by
//!   the committer's MLS signature, not by the server). Anything else is refused: the client
//!   does not move to that epoch, tells the server it cannot process it, and says so on screen.
//! - **Departures end access.** A host-side client commits the Remove of everyone who left (the
//!   server refuses other commits until it is done), so the next epoch's keys exclude them.
//! - **Safety code.** Every member derives the same short code from the epoch authenticator
//!   (RFC 9420 §8.7); people compare it aloud to know nobody sits between them.
//!
//! Application messages are JSON in MLS `PrivateMessage`s: `{"kind":"chat","text":...}` or
//! `{"kind":"admit","person":N}`. Handshake messages are `PublicMessage`s (what the delivery
//! service reads). Everything is kept in memory only. A client that loses the group (a reload)
//! or refuses a commit says it cannot process; the server then has a host-side member remove
//! its leaf and add it back (`mls_removal_pending`), or, when no other host-side member is in
//! the group, starts the group afresh (`mls_reset`), which the meeting's host creates again.

import {
  createApplicationMessage,
  createCommit,
  createGroup,
  decodeMlsMessage,
  defaultCapabilities,
  defaultLifetime,
  emptyPskIndex,
  encodeMlsMessage,
  generateKeyPackage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
  mlsExporter,
  processMessage,
  zeroOutUint8Array,
  type CiphersuiteImpl,
  type ClientState,
  type Credential,
  type IncomingMessageCallback,
  type KeyPackage,
  type PrivateKeyPackage,
  type Proposal,
} from "ts-mls";
import { createGroupInfoWithRatchetTree } from "ts-mls/createCommit.js";
import { unprotectPrivateMessage } from "ts-mls/messageProtection.js";
import { fromBase64, toBase64 } from "../base64";
import type { ClientMessage, ServerMessage } from "../generated/signalling";
import type { EpochInstall } from "../sframe/mls";

/** What the group sends to the delivery service (the `mls_*` client messages). */
export type MlsClientMessage = Extract<ClientMessage, { type: `mls_${string}` }>;

/** What the delivery service sends (the `mls_*` server messages). */
export type MlsServerMessage = Extract<ServerMessage, { type: `mls_${string}` }>;

/** The group as this client sees it. */
export interface GroupView {
  readonly epoch: number;
  /** The persons whose leaves are in the group. */
  readonly members: readonly number[];
  /** Twelve digits in three groups, the same for every member of this epoch. */
  readonly safetyCode: string;
}

export interface GroupEvents {
  /** The group (epoch, members, safety code) changed, or this client joined it. */
  changed(view: GroupView): void;
  /** A chat message from another member. */
  chat(from: number, text: string): void;
  /** This client refused something the server delivered (a planted Add, an unreadable commit). */
  refused(what: "planted_add" | "unreadable"): void;
}

/** What the meeting's roster says, which the group needs to act on. */
export interface RosterFacts {
  /** Persons in the meeting now. */
  readonly present: ReadonlySet<number>;
  /** Persons on the host side (host or co-host) now. */
  readonly hostSide: ReadonlySet<number>;
}

const ciphersuiteName = "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519";
const oneTimePackages = 3;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

let sharedImpl: Promise<CiphersuiteImpl> | null = null;

function ciphersuite(): Promise<CiphersuiteImpl> {
  sharedImpl ??= getCiphersuiteImpl(getCiphersuiteFromName(ciphersuiteName));
  return sharedImpl;
}

/** The person a credential names: only a basic credential `person:<decimal>`, else null. */
export function personOfCredential(credential: Credential): number | null {
  return credential.credentialType === "basic" ? personOfIdentity(credential.identity) : null;
}

/** The person a basic credential's identity names (`person:<decimal>`), or null. */
function personOfIdentity(identity: Uint8Array): number | null {
  const match = /^person:(0|[1-9][0-9]{0,15})$/.exec(decoder.decode(identity));
  return match ? Number(match[1]) : null;
}

/** The safety code of an epoch authenticator: its first 40 bits as twelve decimal digits. */
export function safetyCode(epochAuthenticator: Uint8Array): string {
  let value = 0n;
  for (const byte of epochAuthenticator.subarray(0, 5)) value = (value << 8n) | BigInt(byte);
  const digits = value.toString().padStart(12, "0").slice(-12);
  return `${digits.slice(0, 4)} ${digits.slice(4, 8)} ${digits.slice(8)}`;
}

interface HeldKeyPackage {
  readonly publicPackage: KeyPackage;
  readonly privatePackage: PrivateKeyPackage;
}

/** A commit (or the group's creation) this client sent and waits to hear won. */
interface PendingCommit {
  readonly newState: ClientState;
  /** Persons whose leaves it removes. */
  readonly removing: readonly number[];
}

/** Adding one admitted person: announce in the group, claim a key package, commit. */
interface Adding {
  readonly person: number;
  stage: "announcing" | "claiming" | "committing";
}

type AppPayload = { kind: "chat"; text: string } | { kind: "admit"; person: number };

/**
 * One browser's membership in one meeting's MLS group. Feed it the server's `mls_*` messages
 * with `handle` and the roster with `roster`; it sends through `send`.
 */
export class MeetingGroup {
  readonly #me: number;
  readonly #groupId: Uint8Array;
  readonly #send: (message: MlsClientMessage) => void;
  readonly #events: GroupEvents;
  #impl: CiphersuiteImpl | null = null;
  #state: ClientState | null = null;
  #held: HeldKeyPackage[] = [];
  #lastResort: HeldKeyPackage | null = null;
  #pending: PendingCommit | null = null;
  #adding: Adding | null = null;
  /** Application messages waiting to go, and the one sent and not yet confirmed. */
  #outbox: AppPayload[] = [];
  #sending: AppPayload | null = null;
  #roster: RosterFacts = { present: new Set(), hostSide: new Set() };
  /** Members whose leaves must go even though they are here (their browser lost the group). */
  readonly #mustRemove = new Set<number>();
  /** Whether this client creates the group (the meeting's host). */
  #creator = false;
  /** Whether the group started afresh since the media last took its keys. */
  #restarted = false;
  /** Adds announced by host-side members, in MLS: committer → persons it may add. */
  #announced = new Map<number, Set<number>>();
  #queue: Promise<void> = Promise.resolve();
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;

  constructor(me: number, meetingId: string, send: (message: MlsClientMessage) => void, events: GroupEvents) {
    this.#me = me;
    this.#groupId = encoder.encode(meetingId);
    this.#send = send;
    this.#events = events;
  }

  /**
   * Stocks key packages with the server; then the meeting's host creates the group, and anyone
   * else asks to rejoin it (which the server grants only to someone whose leaf is in it, e.g.
   * after a reload; a newcomer waits for the Welcome instead).
   */
  start(createIfHost: boolean): void {
    this.#creator = createIfHost;
    this.#serial(async () => {
      this.#impl = await ciphersuite();
      await this.#stock(true);
      if (this.#state !== null) return;
      if (createIfHost) await this.#create();
      else this.#send({ type: "mls_cannot_process", epoch: 0 });
    });
  }

  /** The connection came back: what was in flight may be lost, so it is tried again. */
  reconnected(): void {
    this.#serial(async () => {
      if (this.#sending !== null) this.#outbox.unshift(this.#sending);
      this.#sending = null;
      this.#pending = null;
      this.#adding = null;
      await this.#pump();
      await this.#act();
    });
  }

  /** The current roster; a host-side client adds who is present and removes who left. */
  roster(facts: RosterFacts): void {
    this.#roster = facts;
    this.#serial(() => this.#act());
  }

  /** Handles one `mls_*` message from the server. */
  handle(message: MlsServerMessage): void {
    this.#serial(() => this.#handle(message));
  }

  /** Sends a chat message to the group; false if this client is not (yet) in it. */
  sendChat(text: string): boolean {
    if (this.#state === null) return false;
    this.#serial(() => this.#queueApp({ kind: "chat", text }));
    return true;
  }

  /**
   * The current epoch's SFrame keys for the media (RFC 9605 §5.2): the epoch's
   * `MLS-Exporter("SFrame 1.0 Base Key", "", 16)`, this member's leaf index and every member's.
   */
  async epochInstall(): Promise<EpochInstall | null> {
    const state = this.#state;
    const impl = this.#impl;
    if (state === null || impl === null) return null;
    const baseKey = await mlsExporter(state.keySchedule.exporterSecret, "SFrame 1.0 Base Key", new Uint8Array(0), 16, impl);
    const restart = this.#restarted;
    this.#restarted = false;
    return {
      epoch: state.groupContext.epoch,
      baseKey,
      ownIndex: state.privatePath.leafIndex,
      memberIndices: this.#members(state).map((member) => member.leaf),
      restart,
    };
  }

  get view(): GroupView | null {
    return this.#state === null ? null : this.#viewOf(this.#state);
  }

  close(): void {
    this.#closed = true;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#state = null;
    this.#held = [];
    this.#lastResort = null;
  }

  /** Runs `work` after everything before it: the group's state changes one step at a time. */
  #serial(work: () => Promise<void>): void {
    this.#queue = this.#queue.then(work).catch((error: unknown) => {
      if (!this.#closed) console.error("Trygg: MLS", error);
    });
  }

  get #impl_(): CiphersuiteImpl {
    if (this.#impl === null) throw new Error("the ciphersuite is not loaded");
    return this.#impl;
  }

  async #keyPackage(): Promise<HeldKeyPackage> {
    const credential = { credentialType: "basic" as const, identity: encoder.encode(`person:${this.#me}`) };
    return await generateKeyPackage(credential, defaultCapabilities(), defaultLifetime, [], this.#impl_);
  }

  async #stock(withLastResort: boolean): Promise<void> {
    const fresh: HeldKeyPackage[] = [];
    for (let count = 0; count < oneTimePackages; count += 1) fresh.push(await this.#keyPackage());
    this.#held.push(...fresh);
    let lastResort: string | null = null;
    if (withLastResort) {
      this.#lastResort = await this.#keyPackage();
      lastResort = toBase64(encodeKeyPackage(this.#lastResort.publicPackage));
    }
    this.#send({ type: "mls_key_packages", one_time: fresh.map((held) => toBase64(encodeKeyPackage(held.publicPackage))), last_resort: lastResort });
  }

  async #create(): Promise<void> {
    const own = await this.#keyPackage();
    const state = await createGroup(this.#groupId, own.publicPackage, own.privatePackage, [], this.#impl_);
    this.#pending = { newState: state, removing: [] };
    this.#send({ type: "mls_create", group_info: toBase64(await this.#groupInfo(state)) });
  }

  /** The GroupInfo of `state`'s epoch, with the ratchet tree and a conformant `external_pub`. */
  async #groupInfo(state: ClientState): Promise<Uint8Array> {
    const impl = this.#impl_;
    // ts-mls 1.6.4 writes external_pub without its length prefix (RFC 9420 §12.4.3.2); the
    // delivery service (openmls) refuses that, so the extension is built here.
    const pair = await impl.hpke.deriveKeyPair(state.keySchedule.externalSecret);
    const key = await impl.hpke.exportPublicKey(pair.publicKey);
    const externalPub = new Uint8Array([key.length, ...key]);
    const groupInfo = await createGroupInfoWithRatchetTree(
      state.groupContext,
      state.confirmationTag,
      state,
      state.ratchetTree,
      [{ extensionType: "external_pub", extensionData: externalPub }],
      impl,
    );
    return encodeMlsMessage({ version: "mls10", wireformat: "mls_group_info", groupInfo });
  }

  async #handle(message: MlsServerMessage): Promise<void> {
    switch (message.type) {
      case "mls_accepted":
        if (this.#pending !== null) {
          this.#state = this.#pending.newState;
          for (const person of this.#pending.removing) this.#mustRemove.delete(person);
          this.#pending = null;
          if (this.#adding?.stage === "committing") this.#adding = null;
          this.#changed();
        }
        await this.#pump();
        await this.#act();
        break;
      case "mls_delivered": {
        const sent = this.#sending;
        this.#sending = null;
        if (sent?.kind === "admit" && this.#adding?.person === sent.person && this.#adding.stage === "announcing") {
          this.#adding.stage = "claiming";
          this.#send({ type: "mls_claim", person: sent.person });
        }
        await this.#pump();
        break;
      }
      case "mls_refused":
        await this.#refused(message.request, message.code);
        break;
      case "mls_removal_pending":
        for (const person of message.persons) if (person !== this.#me) this.#mustRemove.add(person);
        await this.#act();
        break;
      case "mls_reset":
        await this.#reset();
        break;
      case "mls_key_package":
        await this.#add(message.person, message.key_package);
        break;
      case "mls_replenish":
        await this.#stock(false);
        break;
      case "mls_welcome":
        await this.#welcome(message.message);
        break;
      case "mls_handshake":
        await this.#handshake(message.message);
        break;
      case "mls_application":
        await this.#application(message.message);
        break;

    }
  }

  /** The server refused `request`. Another commit winning is normal: its message is already here. */
  async #refused(request: string, code: string): Promise<void> {
    switch (request) {
      case "message":
        // Sent in an epoch that had just ended: encrypt it again for the new one.
        if (this.#sending !== null && (code === "stale_epoch" || code === "removal_pending")) this.#outbox.unshift(this.#sending);
        this.#sending = null;
        if (code === "stale_epoch") await this.#pump();
        else this.#retryLater();
        break;
      case "create":
        this.#pending = null;
        // The group exists already (this page was reloaded): rejoin it.
        if (code === "already_created") this.#send({ type: "mls_cannot_process", epoch: 0 });
        break;
      case "commit":
        this.#pending = null;
        this.#adding = null;
        this.#retryLater();
        break;
      case "claim":
        // No key package yet (the person's client is still stocking them): ask again shortly.
        this.#adding = null;
        this.#retryLater();
        break;
      default:
        break;
    }
  }

  async #welcome(text: string): Promise<void> {
    const decoded = decodeMlsMessage(fromBase64(text), 0)?.[0];
    if (decoded?.wireformat !== "mls_welcome") return this.#events.refused("unreadable");
    for (const held of [...this.#held, ...(this.#lastResort ? [this.#lastResort] : [])]) {
      try {
        this.#state = await joinGroup(decoded.welcome, held.publicPackage, held.privatePackage, emptyPskIndex, this.#impl_);
      } catch {
        continue;
      }
      this.#held = this.#held.filter((other) => other !== held);
      this.#changed();
      await this.#act();
      return;
    }
    this.#events.refused("unreadable");
  }

  async #handshake(text: string): Promise<void> {
    const state = this.#state;
    if (state === null) {
      // A reload lost the group's state: ask to rejoin.
      this.#send({ type: "mls_cannot_process", epoch: 0 });
      return;
    }
    const decoded = decodeMlsMessage(fromBase64(text), 0)?.[0];
    if (decoded?.wireformat !== "mls_public_message" && decoded?.wireformat !== "mls_private_message") {
      this.#events.refused("unreadable");
      return;
    }
    let planted = false;
    const judge: IncomingMessageCallback = (incoming) => {
      if (incoming.kind !== "commit") return "reject";
      const verdict = this.#judgeCommit(state, incoming.senderLeafIndex, incoming.proposals.map((entry) => entry.proposal));
      if (verdict === "reject") planted = true;
      return verdict;
    };
    let result;
    try {
      result = await processMessage(decoded, state, emptyPskIndex, judge, this.#impl_);
    } catch {
      this.#events.refused("unreadable");
      this.#send({ type: "mls_cannot_process", epoch: Number(state.groupContext.epoch) + 1 });
      return;
    }
    if (result.kind === "newState" && result.actionTaken === "reject") {
      this.#events.refused(planted ? "planted_add" : "unreadable");
      // The group must not move on without us knowing who is in it: stay, and say so.
      this.#send({ type: "mls_cannot_process", epoch: Number(state.groupContext.epoch) + 1 });
      return;
    }
    result.consumed.forEach(zeroOutUint8Array);
    this.#state = result.newState;
    // A commit someone else won replaces ours (the server refuses ours next).
    this.#pending = null;
    this.#changed();
    await this.#act();
  }

  /** Whether a commit from `senderLeaf` with `proposals` may be processed: no planted Adds. */
  #judgeCommit(state: ClientState, senderLeaf: number | undefined, proposals: readonly Proposal[]): "accept" | "reject" {
    const adds = proposals.filter((proposal) => proposal.proposalType === "add");
    if (adds.length === 0) return "accept";
    const committer = senderLeaf === undefined ? null : this.#personAtLeaf(state, senderLeaf);
    if (committer === null || !this.#roster.hostSide.has(committer)) return "reject";
    const announced = this.#announced.get(committer) ?? new Set<number>();
    for (const proposal of adds) {
      if (proposal.proposalType !== "add") return "reject";
      const added = personOfCredential(proposal.add.keyPackage.leafNode.credential);
      if (added === null || !announced.has(added)) return "reject";
    }
    return "accept";
  }

  async #application(text: string): Promise<void> {
    const state = this.#state;
    if (state === null) return;
    const decoded = decodeMlsMessage(fromBase64(text), 0)?.[0];
    if (decoded?.wireformat !== "mls_private_message") return;
    const message = decoded.privateMessage;
    // Only messages of the current epoch are read (the server delivers in order, and a
    // newcomer cannot read what was sent before they joined). Decrypting here, rather than
    // through processMessage, gives the sending leaf, whose signature ts-mls has checked.
    if (message.epoch !== state.groupContext.epoch || message.contentType !== "application") return;
    let result;
    try {
      result = await unprotectPrivateMessage(
        state.keySchedule.senderDataSecret,
        message,
        state.secretTree,
        state.ratchetTree,
        state.groupContext,
        state.clientConfig.keyRetentionConfig,
        this.#impl_,
      );
    } catch {
      return;
    }
    this.#state = { ...state, secretTree: result.tree };
    result.consumed.forEach(zeroOutUint8Array);
    const content = result.content.content;
    if (content.contentType !== "application" || content.sender.senderType !== "member") return;
    const sender = this.#personAtLeaf(state, content.sender.leafIndex);
    if (sender === null) return;
    let payload: unknown;
    try {
      payload = JSON.parse(decoder.decode(content.applicationData));
    } catch {
      return;
    }
    if (typeof payload !== "object" || payload === null) return;
    const { kind, text: chatText, person } = payload as Record<string, unknown>;
    if (kind === "chat" && typeof chatText === "string") {
      this.#events.chat(sender, chatText);
    } else if (kind === "admit" && typeof person === "number" && Number.isSafeInteger(person)) {
      const set = this.#announced.get(sender) ?? new Set<number>();
      set.add(person);
      this.#announced.set(sender, set);
    }
  }

  #queueApp(payload: AppPayload): Promise<void> {
    this.#outbox.push(payload);
    return this.#pump();
  }

  /** Sends the next application message once the one before it is confirmed. */
  async #pump(): Promise<void> {
    const state = this.#state;
    if (state === null || this.#sending !== null || this.#pending !== null) return;
    const payload = this.#outbox.shift();
    if (payload === undefined) return;
    const result = await createApplicationMessage(state, encoder.encode(JSON.stringify(payload)), this.#impl_);
    this.#state = result.newState;
    result.consumed.forEach(zeroOutUint8Array);
    this.#sending = payload;
    this.#send({
      type: "mls_message",
      message: toBase64(encodeMlsMessage({ version: "mls10", wireformat: "mls_private_message", privateMessage: result.privateMessage })),
    });
  }

  /** The group starts afresh: forget it, stock key packages again, and (as its creator) create it. */
  async #reset(): Promise<void> {
    this.#state = null;
    this.#restarted = true;
    this.#pending = null;
    this.#adding = null;
    if (this.#sending !== null) this.#outbox.unshift(this.#sending);
    this.#sending = null;
    this.#announced.clear();
    this.#mustRemove.clear();
    this.#held = [];
    await this.#stock(true);
    if (this.#creator) await this.#create();
  }

  /** A host-side member's duties: remove who left, then add who is present but not a member. */
  async #act(): Promise<void> {
    const state = this.#state;
    if (state === null || this.#pending !== null || this.#adding !== null || this.#closed) return;
    if (!this.#roster.hostSide.has(this.#me)) return;
    const members = this.#members(state);
    const gone = members.filter((entry) => entry.person !== this.#me && (!this.#roster.present.has(entry.person) || this.#mustRemove.has(entry.person)));
    if (gone.length > 0) {
      const proposals: Proposal[] = gone.map((entry) => ({ proposalType: "remove", remove: { removed: entry.leaf } }));
      await this.#commit(state, proposals, gone.map((entry) => entry.person));
      return;
    }
    const inGroup = new Set(members.map((entry) => entry.person));
    const missing = [...this.#roster.present].find((person) => !inGroup.has(person));
    if (missing === undefined) return;
    // Announce the admission in the group first: members accept the Add only after this.
    this.#adding = { person: missing, stage: "announcing" };
    await this.#queueApp({ kind: "admit", person: missing });
  }

  async #add(person: number, keyPackageText: string): Promise<void> {
    const state = this.#state;
    if (state === null || this.#adding?.person !== person || this.#adding.stage !== "claiming") return;
    const decoded = decodeMlsMessage(fromBase64(keyPackageText), 0)?.[0];
    if (decoded?.wireformat !== "mls_key_package" || personOfCredential(decoded.keyPackage.leafNode.credential) !== person) {
      this.#adding = null;
      this.#events.refused("unreadable");
      return;
    }
    this.#adding.stage = "committing";
    await this.#commit(state, [{ proposalType: "add", add: { keyPackage: decoded.keyPackage } }], []);
  }

  async #commit(state: ClientState, proposals: Proposal[], removing: readonly number[]): Promise<void> {
    const result = await createCommit({ state, cipherSuite: this.#impl_ }, { extraProposals: proposals, wireAsPublicMessage: true, ratchetTreeExtension: true });
    this.#pending = { newState: result.newState, removing };
    this.#send({
      type: "mls_commit",
      commit: toBase64(encodeMlsMessage(result.commit)),
      welcome: result.welcome ? toBase64(encodeMlsMessage({ version: "mls10", wireformat: "mls_welcome", welcome: result.welcome })) : null,
      group_info: toBase64(await this.#groupInfo(result.newState)),
    });
  }

  #retryLater(): void {
    if (this.#retryTimer !== null || this.#closed) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#serial(() => this.#act());
    }, 300);
  }

  #members(state: ClientState): Array<{ person: number; leaf: number }> {
    const members: Array<{ person: number; leaf: number }> = [];
    state.ratchetTree.forEach((node, index) => {
      if (index % 2 !== 0 || node?.nodeType !== "leaf") return;
      const person = personOfCredential(node.leaf.credential);
      if (person !== null) members.push({ person, leaf: index / 2 });
    });
    return members;
  }

  #personAtLeaf(state: ClientState, leaf: number): number | null {
    const node = state.ratchetTree[leaf * 2];
    return node?.nodeType === "leaf" ? personOfCredential(node.leaf.credential) : null;
  }

  #viewOf(state: ClientState): GroupView {
    return {
      epoch: Number(state.groupContext.epoch),
      members: this.#members(state).map((entry) => entry.person),
      safetyCode: safetyCode(state.keySchedule.epochAuthenticator),
    };
  }

  #changed(): void {
    if (this.#state !== null) this.#events.changed(this.#viewOf(this.#state));
  }
}

function encodeKeyPackage(keyPackage: KeyPackage): Uint8Array {
  return encodeMlsMessage({ version: "mls10", wireformat: "mls_key_package", keyPackage });
}
