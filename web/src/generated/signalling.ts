// Generated from crates/trygg/src/meetings/wire.rs by `cargo xtask signalling-types`.
// Do not edit: change the Rust types and generate again (a test fails when this is stale).

export const PROTOCOL_VERSION = 1;

export type ClientEnvelope = { 
/**
 * Must be [`VERSION`].
 */
v: number, } & ({ "type": "consent", notice_version: string, decisions: Array<ConsentChoice>, } | { "type": "passcode", passcode: string, } | { "type": "device", browser: string, device: string, supported: boolean, } | { "type": "knock", name: string, } | { "type": "enter", name: string, } | { "type": "message_to_lobby", person: number, text: string, } | { "type": "message_to_hosts", text: string, } | { "type": "admit", person: number, } | { "type": "reject", person: number, reason: string, } | { "type": "hold", person: number, message: string, } | { "type": "lock", } | { "type": "unlock", } | { "type": "remove", person: number, ban: boolean, } | { "type": "end_for_all", } | { "type": "set_muted", person: number, muted: boolean, } | { "type": "set_screen_share_allowed", person: number, allowed: boolean, } | { "type": "stop_screen_share", person: number, } | { "type": "set_co_host", person: number, co_host: boolean, } | { "type": "reset_passcode_lock", } | { "type": "start_screen_share", } | { "type": "leave", } | { "type": "mls_key_packages", one_time: Array<string>, last_resort: string | null, } | { "type": "mls_claim", person: number, } | { "type": "mls_create", group_info: string, } | { "type": "mls_commit", commit: string, welcome: string | null, group_info: string, } | { "type": "mls_message", message: string, } | { "type": "mls_cannot_process", epoch: number, } | { "type": "media_offer", sdp: string, } | { "type": "media_answer", sdp: string, });

export type ConsentChoice = { purpose: string, given: boolean, };

export type ClientMessage = { "type": "consent", notice_version: string, decisions: Array<ConsentChoice>, } | { "type": "passcode", passcode: string, } | { "type": "device", browser: string, device: string, supported: boolean, } | { "type": "knock", name: string, } | { "type": "enter", name: string, } | { "type": "message_to_lobby", person: number, text: string, } | { "type": "message_to_hosts", text: string, } | { "type": "admit", person: number, } | { "type": "reject", person: number, reason: string, } | { "type": "hold", person: number, message: string, } | { "type": "lock", } | { "type": "unlock", } | { "type": "remove", person: number, ban: boolean, } | { "type": "end_for_all", } | { "type": "set_muted", person: number, muted: boolean, } | { "type": "set_screen_share_allowed", person: number, allowed: boolean, } | { "type": "stop_screen_share", person: number, } | { "type": "set_co_host", person: number, co_host: boolean, } | { "type": "reset_passcode_lock", } | { "type": "start_screen_share", } | { "type": "leave", } | { "type": "mls_key_packages", one_time: Array<string>, last_resort: string | null, } | { "type": "mls_claim", person: number, } | { "type": "mls_create", group_info: string, } | { "type": "mls_commit", commit: string, welcome: string | null, group_info: string, } | { "type": "mls_message", message: string, } | { "type": "mls_cannot_process", epoch: number, } | { "type": "media_offer", sdp: string, } | { "type": "media_answer", sdp: string, };

export type ServerEnvelope = { v: number, } & ({ "type": "welcome", you: number, meeting: MeetingInfo, standing: StandingWire, } | { "type": "join_step", step: string, } | { "type": "passcode_wrong", may_retry: boolean, } | { "type": "waiting", expires_at_ms: number, } | { "type": "held", message: string, expires_at_ms: number, } | { "type": "rejected", reason: string, } | { "type": "expired" } | { "type": "admitted", standing: StandingWire, } | { "type": "removed", banned: boolean, } | { "type": "resumed", standing: StandingWire, } | { "type": "lobby_message", lobby_person: number, from: number, text: string, } | { "type": "knock", knock: KnockWire, } | { "type": "knock_held", person: number, by: number, expires_at_ms: number, } | { "type": "knock_closed", person: number, 
/**
 * `admitted`, `rejected`, `expired`, `withdrawn`, `connection_lost` or `banned`.
 */
outcome: string, } | { "type": "lobby", knocks: Array<KnockWire>, } | { "type": "passcode_locked" } | { "type": "passcode_unlocked" } | { "type": "participant_joined", participant: ParticipantWire, } | { "type": "participant_left", person: number, 
/**
 * `left`, `removed`, `banned` or `connection_lost`.
 */
departure: string, } | { "type": "role_changed", person: number, role: string, } | { "type": "mute_changed", person: number, muted_by_host: boolean, } | { "type": "screen_share_changed", person: number, allowed: boolean, sharing: boolean, } | { "type": "lock_changed", locked: boolean, } | { "type": "connection_changed", person: number, connected: boolean, } | { "type": "meeting_ended" } | { "type": "refused", code: string, } | { "type": "session_ended" } | { "type": "mls_handshake", message: string, } | { "type": "mls_application", message: string, } | { "type": "mls_welcome", message: string, } | { "type": "mls_rejoin", group_info: string, } | { "type": "mls_replenish", remaining: number, } | { "type": "mls_key_package", person: number, key_package: string, } | { "type": "mls_accepted", epoch: number, added: Array<number>, removed: Array<number>, } | { "type": "mls_delivered", recipients: number, } | { "type": "mls_refused", request: string, code: string, current_epoch: number | null, } | { "type": "mls_removal_pending", persons: Array<number>, } | { "type": "mls_reset" } | { "type": "ice_servers", servers: Array<IceServerWire>, } | { "type": "media_answer", sdp: string, } | { "type": "media_offer", sdp: string, });

export type PurposeView = { purpose: string, required: boolean, };

export type MeetingInfo = { starts_at_ms: number, ends_at_ms: number, 
/**
 * `link_only`, `passcode`, `identity_proof` or `passcode_or_identity_proof`.
 */
credential: string, notice_version: string, purposes: Array<PurposeView>, };

export type IdentityWire = { 
/**
 * `staff_session`, `passkey` or `e_id`.
 */
method: string, verified_name: string | null, personal_number: string | null, };

export type KnockWire = { person: number, name_given: string, identity: IdentityWire | null, staff: boolean, browser: string, device: string, 
/**
 * `low`, `elevated` or `high`.
 */
risk_level: string, risk_signals: Array<string>, knocked_at_ms: number, expires_at_ms: number, held: boolean, connected: boolean, };

export type ParticipantWire = { person: number, name: string, verified: boolean, 
/**
 * `participant`, `co_host` or `host`.
 */
role: string, muted_by_host: boolean, screen_share_allowed: boolean, sharing: boolean, connected: boolean, };

export type IceServerWire = { urls: Array<string>, username: string, credential: string, expires_at_ms: number, };

export type StandingWire = { "state": "joining", step: string, } | { "state": "waiting", held: boolean, expires_at_ms: number, } | { "state": "in_meeting", you: ParticipantWire, roster: Array<ParticipantWire>, locked: boolean, lobby: Array<KnockWire>, };

export type ServerMessage = { "type": "welcome", you: number, meeting: MeetingInfo, standing: StandingWire, } | { "type": "join_step", step: string, } | { "type": "passcode_wrong", may_retry: boolean, } | { "type": "waiting", expires_at_ms: number, } | { "type": "held", message: string, expires_at_ms: number, } | { "type": "rejected", reason: string, } | { "type": "expired" } | { "type": "admitted", standing: StandingWire, } | { "type": "removed", banned: boolean, } | { "type": "resumed", standing: StandingWire, } | { "type": "lobby_message", lobby_person: number, from: number, text: string, } | { "type": "knock", knock: KnockWire, } | { "type": "knock_held", person: number, by: number, expires_at_ms: number, } | { "type": "knock_closed", person: number, 
/**
 * `admitted`, `rejected`, `expired`, `withdrawn`, `connection_lost` or `banned`.
 */
outcome: string, } | { "type": "lobby", knocks: Array<KnockWire>, } | { "type": "passcode_locked" } | { "type": "passcode_unlocked" } | { "type": "participant_joined", participant: ParticipantWire, } | { "type": "participant_left", person: number, 
/**
 * `left`, `removed`, `banned` or `connection_lost`.
 */
departure: string, } | { "type": "role_changed", person: number, role: string, } | { "type": "mute_changed", person: number, muted_by_host: boolean, } | { "type": "screen_share_changed", person: number, allowed: boolean, sharing: boolean, } | { "type": "lock_changed", locked: boolean, } | { "type": "connection_changed", person: number, connected: boolean, } | { "type": "meeting_ended" } | { "type": "refused", code: string, } | { "type": "session_ended" } | { "type": "mls_handshake", message: string, } | { "type": "mls_application", message: string, } | { "type": "mls_welcome", message: string, } | { "type": "mls_rejoin", group_info: string, } | { "type": "mls_replenish", remaining: number, } | { "type": "mls_key_package", person: number, key_package: string, } | { "type": "mls_accepted", epoch: number, added: Array<number>, removed: Array<number>, } | { "type": "mls_delivered", recipients: number, } | { "type": "mls_refused", request: string, code: string, current_epoch: number | null, } | { "type": "mls_removal_pending", persons: Array<number>, } | { "type": "mls_reset" } | { "type": "ice_servers", servers: Array<IceServerWire>, } | { "type": "media_answer", sdp: string, } | { "type": "media_offer", sdp: string, };
