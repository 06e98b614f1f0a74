//! Calls to the Trygg server's JSON API, and the parsing of what comes back.
//!
//! Responses are parsed into typed values here, at the edge, so the rest of the client never sees
//! an unchecked `any`. The wire types keep the server's field names. A refusal the server
//! explains (`{ "code": ..., "message": ... }`) becomes an `ApiProblem` the pages can match on.
//! It does not retry, cache, or show anything: callers decide what a failure means to the person.
//! Session and sign-in state lives in HttpOnly cookies that this code never sees; the only token
//! it handles is the CSRF token, which the caller passes back on state-changing calls.

/** `GET /api/v1/info`: what this server is and who runs it. */
export interface ServerInfo {
  readonly product: string;
  readonly version: string;
  /** The organisation that operates this installation, if one is configured. */
  readonly organisation: string | null;
  /** Which single sign-on providers are configured: staff SSO and customer e-ID. */
  readonly sso: { readonly staff: boolean; readonly customer: boolean };
}

/** Where the browser goes to sign in at the organisation's identity provider (a redirect). */
export const staffSsoStartPath = "/api/v1/sso/staff/start";

/** `GET /api/v1/session`, and what a completed sign-in answers: who is signed in, and how. */
export interface SessionInfo {
  readonly account: Account;
  readonly session: CurrentSession;
  /** Goes back in the `X-CSRF-Token` header of every state-changing call made while signed in. */
  readonly csrf_token: string;
}

export interface Account {
  readonly id: string;
  readonly kind: "staff" | "customer";
  readonly display_name: string;
  readonly email: string;
  readonly roles: readonly string[];
}

export interface CurrentSession {
  readonly id: string;
  /** e.g. `password+totp`; shown to the person, translated where the client knows the value. */
  readonly auth_method: string;
  readonly created_at_ms: number;
  readonly mfa_at_ms: number | null;
}

/** One entry of `GET /api/v1/sessions`. */
export interface SessionSummary {
  readonly id: string;
  /** A coarse description such as "Chromium on Linux". */
  readonly device: string;
  readonly auth_method: string;
  readonly created_at_ms: number;
  readonly last_seen_ms: number;
  /** Whether this is the session of the browser asking. */
  readonly current: boolean;
}

/** The second step of signing in, after the password: one of the two. */
export type SecondFactor = { readonly totp_code: string } | { readonly recovery_code: string };

/** `POST /api/v1/enrolment/start`: whose account the link sets up, and the new TOTP secret. */
export interface Enrolment {
  readonly email: string;
  readonly display_name: string;
  readonly min_password_length: number;
  readonly totp: {
    /** RFC 4648 base32, no padding expected. */
    readonly secret: string;
    readonly uri: string;
    /** A `data:image/...;base64,` URL, the only kind the page's CSP lets an `<img>` show. */
    readonly qr_data_url: string;
  };
}

/** `POST /api/v1/enrolment/finish`: the recovery codes, shown once, and the new session. */
export interface EnrolmentFinished {
  readonly recovery_codes: readonly string[];
  readonly session: SessionInfo;
}

/** Where a staff account stands: invited but not set up yet, in use, or switched off. */
export type AccountStatus = "pending" | "active" | "disabled";

/** One entry of `GET /api/v1/accounts`, and what the administration calls answer. */
export interface AccountSummary {
  readonly id: string;
  readonly kind: "staff" | "customer";
  readonly display_name: string;
  readonly email: string;
  /** As the server names them; the client translates the ones it knows (see roles.ts). */
  readonly roles: readonly string[];
  readonly status: AccountStatus;
  readonly created_at_ms: number;
}

/** Who to invite: `POST /api/v1/accounts`. */
export interface Invitation {
  readonly email: string;
  readonly display_name: string;
  readonly roles: readonly string[];
}

/**
 * An account and a one-time link to set it up (after an invitation or a reset of the second
 * factor). The path carries the token in its fragment; the client adds its own origin.
 */
export interface EnrolmentLink {
  readonly account: AccountSummary;
  /** `/enrol#<token>`. */
  readonly enrolment_path: string;
  readonly expires_at_ms: number;
}

export type PasswordRejection = "too_short" | "too_long" | "common" | "context_specific" | "repetitive";

/** Why the server refused a call, as far as the client knows the reason. */
export type Problem =
  | {
      readonly code:
        | "unauthenticated"
        | "invalid_credentials"
        | "invalid_code"
        | "mfa_expired"
        | "enrolment_invalid"
        | "not_found"
        | "session_expired"
        | "forbidden"
        | "step_up_required"
        | "invalid_email"
        | "invalid_name"
        | "invalid_roles"
        | "account_exists"
        | "passkey_refused"
        | "passkey_expired"
        | "passkey_malformed"
        | "passkey_exists"
        | "registration_expired"
        | "too_many_passkeys"
        | "invalid_title"
        | "invalid_window"
        | "invalid_passcode"
        | "meeting_closed"
        | "meeting_erased"
        | "email_not_configured"
        | "email_unavailable"
        | "email_refused"
        | "too_many_invitations"
        | "invitation_in_progress"
        | "identity_proof_unavailable"
        | "identity_proof_stale"
        | "identity_proof_method"
        | "not_a_customer"
        | "no_verified_identity"
        | "no_place"
        | "banned"
        | "credential_not_accepted";
    }
  | { readonly code: "throttled"; readonly retry_after_secs: number }
  | {
      readonly code: "password_rejected";
      /** `unknown` when the server names a reason this client does not know yet. */
      readonly reason: PasswordRejection | "unknown";
      readonly min_length: number | null;
    }
  /** A code this client does not know, or an error without a JSON body. */
  | { readonly code: "unknown"; readonly reported: string };

/** Why a call failed, for the log; the person is shown a localized message instead. */
export class ApiError extends Error {
  override readonly name: string = "ApiError";
}

/** No answer: the network, the connection or a timeout. Trying again later may help. */
export class ApiUnreachable extends ApiError {
  override readonly name = "ApiUnreachable";
}

/** The server answered, and refused: `status` >= 400 with the problem it named. */
export class ApiProblem extends ApiError {
  override readonly name = "ApiProblem";

  constructor(
    readonly status: number,
    readonly problem: Problem,
    what: string,
  ) {
    super(`${what} answered ${status} ${problem.code === "unknown" ? problem.reported : problem.code}`);
  }
}

const requestTimeoutMs = 10_000;

export async function fetchServerInfo(): Promise<ServerInfo> {
  return parseServerInfo(await call("GET", "/api/v1/info"));
}

/** Who is signed in in this browser; an `ApiProblem` with `unauthenticated` (401) if nobody. */
export async function fetchSession(): Promise<SessionInfo> {
  return parseSessionInfo(await call("GET", "/api/v1/session"), "session");
}

/** The first step of signing in. On success the server expects the second factor next. */
export async function signInWithPassword(email: string, password: string): Promise<void> {
  const answer = object(await call("POST", "/api/v1/session/password", { body: { email, password } }), "password");
  if (answer.next !== "mfa") throw new ApiError(`password: next is ${String(answer.next)}, not mfa`);
}

/** The second step of signing in; the session cookie is set when this succeeds. */
export async function signInWithSecondFactor(factor: SecondFactor): Promise<SessionInfo> {
  return parseSessionInfo(await call("POST", "/api/v1/session/mfa", { body: factor }), "mfa");
}

/** Signs this browser out. */
export async function signOut(csrfToken: string): Promise<void> {
  await call("DELETE", "/api/v1/session", { csrfToken });
}

/** The signed-in account's live sessions. */
export async function fetchSessions(): Promise<readonly SessionSummary[]> {
  const { sessions } = object(await call("GET", "/api/v1/sessions"), "sessions");
  if (!Array.isArray(sessions)) throw new ApiError("sessions: sessions is not an array");
  return sessions.map((entry: unknown) => {
    const { id, device, auth_method, created_at_ms, last_seen_ms, current } = object(entry, "sessions[]");
    return {
      id: string(id, "sessions[].id"),
      device: string(device, "sessions[].device"),
      auth_method: string(auth_method, "sessions[].auth_method"),
      created_at_ms: number(created_at_ms, "sessions[].created_at_ms"),
      last_seen_ms: number(last_seen_ms, "sessions[].last_seen_ms"),
      current: boolean(current, "sessions[].current"),
    };
  });
}

/** Signs out another session of the same account. */
export async function endSession(sessionId: string, csrfToken: string): Promise<void> {
  await call("DELETE", `/api/v1/sessions/${encodeURIComponent(sessionId)}`, { csrfToken });
}

/** Opens an enrolment link: the token comes from the link's fragment, never from the server. */
export async function startEnrolment(token: string): Promise<Enrolment> {
  const value = object(await call("POST", "/api/v1/enrolment/start", { body: { token } }), "enrolment");
  const totp = object(value.totp, "enrolment.totp");
  const secret = string(totp.secret, "enrolment.totp.secret");
  if (!/^[A-Z2-7]+=*$/.test(secret)) throw new ApiError("enrolment: the secret is not base32");
  const qrDataUrl = string(totp.qr_data_url, "enrolment.totp.qr_data_url");
  if (!/^data:image\/(svg\+xml|png);base64,[A-Za-z0-9+/]+=*$/.test(qrDataUrl)) {
    throw new ApiError("enrolment: qr_data_url is not a base64 SVG or PNG data URL");
  }
  return {
    email: string(value.email, "enrolment.email"),
    display_name: string(value.display_name, "enrolment.display_name"),
    min_password_length: number(value.min_password_length, "enrolment.min_password_length"),
    totp: { secret, uri: string(totp.uri, "enrolment.totp.uri"), qr_data_url: qrDataUrl },
  };
}

/** Sets the password and confirms the authenticator; signs the person in on success. */
export async function finishEnrolment(token: string, password: string, totpCode: string): Promise<EnrolmentFinished> {
  const value = object(
    await call("POST", "/api/v1/enrolment/finish", { body: { token, password, totp_code: totpCode } }),
    "enrolment finish",
  );
  const codes = value.recovery_codes;
  if (!Array.isArray(codes) || codes.length === 0) {
    throw new ApiError("enrolment finish: recovery_codes is not a non-empty array");
  }
  return {
    recovery_codes: codes.map((code: unknown) => string(code, "enrolment finish: recovery code")),
    session: parseSessionInfo(value.session, "enrolment finish: session"),
  };
}

/**
 * Confirms the second factor again on the current session (step-up), for actions the server
 * only allows with a recent one. Answers like `GET /api/v1/session`.
 */
export async function stepUp(factor: SecondFactor, csrfToken: string): Promise<SessionInfo> {
  return parseSessionInfo(await call("POST", "/api/v1/session/step-up", { body: factor, csrfToken }), "step-up");
}

/** One of the signed-in person's passkeys. */
export interface PasskeySummary {
  readonly id: string;
  readonly name: string;
  readonly created_at_ms: number;
  readonly last_used_ms: number | null;
}

/**
 * Starts a passkey sign-in: the server's options for `navigator.credentials.get()` (see
 * `passkey.ts`). The ceremony is tied to this browser by a cookie.
 */
export async function startPasskeySignIn(): Promise<unknown> {
  return await call("POST", "/api/v1/session/passkey/start");
}

/** Finishes a passkey sign-in with the authenticator's answer; the session cookie is set. */
export async function finishPasskeySignIn(credential: unknown): Promise<SessionInfo> {
  return parseSessionInfo(await call("POST", "/api/v1/session/passkey/finish", { body: { credential } }), "passkey");
}

/** The signed-in account's passkeys. */
export async function fetchPasskeys(): Promise<readonly PasskeySummary[]> {
  const { passkeys } = object(await call("GET", "/api/v1/passkeys"), "passkeys");
  if (!Array.isArray(passkeys)) throw new ApiError("passkeys: passkeys is not an array");
  return passkeys.map((entry: unknown) => parsePasskey(entry, "passkeys[]"));
}

/** The server's options for `navigator.credentials.create()`; needs a fresh second factor. */
export async function startPasskeyRegistration(csrfToken: string): Promise<unknown> {
  return await call("POST", "/api/v1/passkeys/register/start", { csrfToken });
}

/** Registers the new passkey under `name`. */
export async function finishPasskeyRegistration(name: string, credential: unknown, csrfToken: string): Promise<PasskeySummary> {
  const body = { name, credential };
  return parsePasskey(await call("POST", "/api/v1/passkeys/register/finish", { body, csrfToken }), "register");
}

/** Removes a passkey; the server signs out the account's other sessions. */
export async function removePasskey(passkeyId: string, csrfToken: string): Promise<void> {
  await call("DELETE", `/api/v1/passkeys/${encodeURIComponent(passkeyId)}`, { csrfToken });
}

/** Every account; a `forbidden` problem (403) for anyone who may not administer accounts. */
export async function fetchAccounts(): Promise<readonly AccountSummary[]> {
  const { accounts } = object(await call("GET", "/api/v1/accounts"), "accounts");
  if (!Array.isArray(accounts)) throw new ApiError("accounts: accounts is not an array");
  return accounts.map((entry: unknown) => parseAccountSummary(entry, "accounts[]"));
}

/** Creates a staff account that its person sets up through the link in the answer. */
export async function inviteAccount(invitation: Invitation, csrfToken: string): Promise<EnrolmentLink> {
  return parseEnrolmentLink(await call("POST", "/api/v1/accounts", { body: invitation, csrfToken }), "invitation");
}

/** Replaces the account's roles; the server ends its sessions. */
export async function setAccountRoles(accountId: string, roles: readonly string[], csrfToken: string): Promise<AccountSummary> {
  const path = `${accountPath(accountId)}/roles`;
  return parseAccountSummary(await call("PUT", path, { body: { roles }, csrfToken }), "roles");
}

/** Switches the account off; the server ends its sessions. */
export async function disableAccount(accountId: string, csrfToken: string): Promise<AccountSummary> {
  return parseAccountSummary(await call("POST", `${accountPath(accountId)}/disable`, { csrfToken }), "disable");
}

/** Removes the account's second factor and recovery codes; its person enrols again through the new link. */
export async function resetSecondFactor(accountId: string, csrfToken: string): Promise<EnrolmentLink> {
  return parseEnrolmentLink(await call("POST", `${accountPath(accountId)}/reset-mfa`, { csrfToken }), "reset-mfa");
}

/** Ends every session of the account; resolves with how many there were. */
export async function endAccountSessions(accountId: string, csrfToken: string): Promise<number> {
  const { ended } = object(await call("POST", `${accountPath(accountId)}/revoke-sessions`, { csrfToken }), "revoke-sessions");
  return number(ended, "revoke-sessions.ended");
}

/** Where a meeting stands: booked, called off by its host, or over. */
export type MeetingStatus = "scheduled" | "cancelled" | "ended";

/** A meeting as its host sees it: `GET /api/v1/meetings` and what the booking calls answer. */
export interface MeetingView {
  /** 32 hex characters, the only id in the link. */
  readonly id: string;
  /** Seen only by the host: never shown to the customer, never in an invitation. */
  readonly title: string;
  /** The validity window: the link lets nobody in outside it. */
  readonly starts_at_ms: number;
  readonly ends_at_ms: number;
  readonly status: MeetingStatus;
  readonly has_passcode: boolean;
  /** Whether the join flow takes an identity proof (e-ID or passkey): required without a passcode, an alternative with one. */
  readonly identity_proof: boolean;
  /** `/m/<id>`; the page puts its own origin in front. */
  readonly link_path: string;
}

/** A new meeting: `POST /api/v1/meetings`. */
export interface MeetingRequest {
  readonly title: string;
  readonly starts_at_ms: number;
  readonly ends_at_ms: number;
  /** 6 to 64 characters, or null for a meeting without one. */
  readonly passcode: string | null;
  /** Take an identity proof in the join flow (needs the customer e-ID provider). */
  readonly identity_proof: boolean;
}

/** A change: the passcode stays unless a new one is given or `remove_passcode` is set. */
export interface MeetingChange extends MeetingRequest {
  readonly remove_passcode: boolean;
}

/** The identity a guest proved in a meeting's join flow, as the host will see it. */
export interface ProvenIdentity {
  readonly method: "e_id" | "passkey";
  readonly name: string;
  /** For example `19811228-****`. */
  readonly personal_number_masked: string;
}

/**
 * Proves who the guest holding this meeting's ticket is, with the customer session just signed
 * in (e-ID or passkey); the join flow then moves on over the socket.
 */
export async function proveMeetingIdentity(meetingId: string, csrfToken: string): Promise<ProvenIdentity> {
  const value = object(await call("POST", `${meetingPath(meetingId)}/identity`, { csrfToken }), "identity");
  if (value.method !== "e_id" && value.method !== "passkey") throw new ApiError("identity: unknown method");
  return {
    method: value.method,
    name: string(value.name, "identity.name"),
    personal_number_masked: string(value.personal_number_masked, "identity.personal_number_masked"),
  };
}

/** Where a customer starts identifying with their e-ID and comes back to the meeting's join page. */
export function customerEidStartPath(meetingId: string): string {
  return `/api/v1/sso/customer/start?return_to=/m/${encodeURIComponent(meetingId)}`;
}

/** What `POST /api/v1/meetings/{id}/invitations` answers once the mail server took the e-mail. */
export interface InvitationSent {
  readonly id: string;
  readonly sent_at_ms: number;
  readonly invitations_sent: number;
  readonly invitations_left: number;
}

/** The meetings the signed-in person hosts, soonest first. */
export async function fetchMeetings(): Promise<readonly MeetingView[]> {
  const { meetings } = object(await call("GET", "/api/v1/meetings"), "meetings");
  if (!Array.isArray(meetings)) throw new ApiError("meetings: meetings is not an array");
  return meetings.map((entry: unknown) => parseMeeting(entry, "meetings[]"));
}

/** Books a meeting hosted by the signed-in person. */
export async function createMeeting(request: MeetingRequest, csrfToken: string): Promise<MeetingView> {
  return parseMeeting(await call("POST", "/api/v1/meetings", { body: request, csrfToken }), "create meeting");
}

/** Changes a booked meeting's title, window or passcode. */
export async function updateMeeting(meetingId: string, change: MeetingChange, csrfToken: string): Promise<MeetingView> {
  return parseMeeting(await call("PUT", meetingPath(meetingId), { body: change, csrfToken }), "update meeting");
}

/** Cancels a booked meeting: its link stops working at once. */
export async function cancelMeeting(meetingId: string, csrfToken: string): Promise<MeetingView> {
  return parseMeeting(await call("POST", `${meetingPath(meetingId)}/cancel`, { csrfToken }), "cancel meeting");
}

/**
 * Sends the meeting's link to `email`. `utcOffsetMinutes` is the customer's (here: this
 * browser's) offset from UTC at the meeting's start, so the e-mail states the time as a clock
 * there shows it.
 */
export async function inviteToMeeting(
  meetingId: string,
  email: string,
  utcOffsetMinutes: number,
  csrfToken: string,
): Promise<InvitationSent> {
  const body = { email, utc_offset_minutes: utcOffsetMinutes };
  const value = object(await call("POST", `${meetingPath(meetingId)}/invitations`, { body, csrfToken }), "invitation");
  return {
    id: string(value.id, "invitation.id"),
    sent_at_ms: number(value.sent_at_ms, "invitation.sent_at_ms"),
    invitations_sent: number(value.invitations_sent, "invitation.invitations_sent"),
    invitations_left: number(value.invitations_left, "invitation.invitations_left"),
  };
}

function meetingPath(meetingId: string): string {
  return `/api/v1/meetings/${encodeURIComponent(meetingId)}`;
}

function parseMeeting(value: unknown, what: string): MeetingView {
  const { id, title, starts_at_ms, ends_at_ms, status, has_passcode, identity_proof, link_path } = object(value, what);
  if (status !== "scheduled" && status !== "cancelled" && status !== "ended") {
    throw new ApiError(`${what}: status is ${String(status)}`);
  }
  const meetingId = string(id, `${what}.id`);
  if (!/^[0-9a-f]{32}$/.test(meetingId)) throw new ApiError(`${what}: id is not 32 hex characters`);
  const path = string(link_path, `${what}.link_path`);
  // Only ever this site's own meeting path: the page puts its origin in front, so an answer can
  // never turn the link into one to another site.
  if (path !== `/m/${meetingId}`) throw new ApiError(`${what}: link_path is not /m/<id>`);
  return {
    id: meetingId,
    title: string(title, `${what}.title`),
    starts_at_ms: number(starts_at_ms, `${what}.starts_at_ms`),
    ends_at_ms: number(ends_at_ms, `${what}.ends_at_ms`),
    status,
    has_passcode: boolean(has_passcode, `${what}.has_passcode`),
    identity_proof: boolean(identity_proof, `${what}.identity_proof`),
    link_path: path,
  };
}

interface CallOptions {
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Sent as `X-CSRF-Token`; required by the server on state-changing calls while signed in. */
  readonly csrfToken?: string;
}

/** One request; resolves to the parsed JSON body, or null for 204. */
async function call(method: "GET" | "POST" | "PUT" | "DELETE", path: string, options: CallOptions = {}): Promise<unknown> {
  const what = `${method} ${path}`;
  const headers: Record<string, string> = { Accept: "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (options.csrfToken !== undefined) headers["X-CSRF-Token"] = options.csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      cache: "no-store",
      signal: AbortSignal.timeout(requestTimeoutMs),
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
  } catch (cause) {
    throw new ApiUnreachable(`${what} failed`, { cause });
  }
  if (!response.ok) throw new ApiProblem(response.status, await readProblem(response), what);
  if (response.status === 204) return null;
  try {
    return await response.json();
  } catch (cause) {
    throw new ApiError(`${what} did not answer JSON`, { cause });
  }
}

async function readProblem(response: Response): Promise<Problem> {
  let value: unknown;
  try {
    value = await response.json();
  } catch {
    return { code: "unknown", reported: "(no JSON body)" };
  }
  if (typeof value !== "object" || value === null) return { code: "unknown", reported: "(not an object)" };
  const { code, retry_after_secs, reason, min_length } = value as Record<string, unknown>;
  switch (code) {
    case "unauthenticated":
    case "invalid_credentials":
    case "invalid_code":
    case "mfa_expired":
    case "enrolment_invalid":
    case "not_found":
    case "session_expired":
    case "forbidden":
    case "step_up_required":
    case "invalid_email":
    case "invalid_name":
    case "invalid_roles":
    case "account_exists":
    case "passkey_refused":
    case "passkey_expired":
    case "passkey_malformed":
    case "passkey_exists":
    case "registration_expired":
    case "too_many_passkeys":
    case "invalid_title":
    case "invalid_window":
    case "invalid_passcode":
    case "meeting_closed":
    case "meeting_erased":
    case "email_not_configured":
    case "email_unavailable":
    case "email_refused":
    case "too_many_invitations":
    case "invitation_in_progress":
    case "identity_proof_unavailable":
    case "identity_proof_stale":
    case "identity_proof_method":
    case "not_a_customer":
    case "no_verified_identity":
    case "no_place":
    case "banned":
    case "credential_not_accepted":
      return { code };
    case "throttled":
      // A missing or odd delay still means "wait"; a minute is the least the person is told.
      return { code, retry_after_secs: isCount(retry_after_secs) ? retry_after_secs : 60 };
    case "password_rejected":
      return {
        code,
        reason: isPasswordRejection(reason) ? reason : "unknown",
        min_length: isCount(min_length) ? min_length : null,
      };
    default:
      return { code: "unknown", reported: typeof code === "string" ? code : "(no code)" };
  }
}

function isPasswordRejection(value: unknown): value is PasswordRejection {
  return (
    value === "too_short" ||
    value === "too_long" ||
    value === "common" ||
    value === "context_specific" ||
    value === "repetitive"
  );
}

function parseServerInfo(value: unknown): ServerInfo {
  if (typeof value !== "object" || value === null) throw new ApiError("info: not an object");
  const { product, version, organisation, sso } = value as Record<string, unknown>;
  if (typeof product !== "string") throw new ApiError("info: product is not a string");
  if (typeof version !== "string") throw new ApiError("info: version is not a string");
  if (organisation !== null && organisation !== undefined && typeof organisation !== "string") {
    throw new ApiError("info: organisation is neither a string nor null");
  }
  const providers = typeof sso === "object" && sso !== null ? (sso as Record<string, unknown>) : {};
  return {
    product,
    version,
    organisation: organisation ?? null,
    sso: { staff: providers.staff === true, customer: providers.customer === true },
  };
}

function parseSessionInfo(value: unknown, what: string): SessionInfo {
  const { account, session, csrf_token } = object(value, what);
  const accountFields = object(account, `${what}.account`);
  const sessionFields = object(session, `${what}.session`);
  const kind = accountFields.kind;
  if (kind !== "staff" && kind !== "customer") throw new ApiError(`${what}: account.kind is ${String(kind)}`);
  const roles = accountFields.roles;
  if (!Array.isArray(roles)) throw new ApiError(`${what}: account.roles is not an array`);
  const mfaAt = sessionFields.mfa_at_ms;
  return {
    account: {
      id: string(accountFields.id, `${what}.account.id`),
      kind,
      display_name: string(accountFields.display_name, `${what}.account.display_name`),
      email: string(accountFields.email, `${what}.account.email`),
      roles: roles.map((role: unknown) => string(role, `${what}.account.roles[]`)),
    },
    session: {
      id: string(sessionFields.id, `${what}.session.id`),
      auth_method: string(sessionFields.auth_method, `${what}.session.auth_method`),
      created_at_ms: number(sessionFields.created_at_ms, `${what}.session.created_at_ms`),
      mfa_at_ms: mfaAt === null || mfaAt === undefined ? null : number(mfaAt, `${what}.session.mfa_at_ms`),
    },
    csrf_token: string(csrf_token, `${what}.csrf_token`),
  };
}

function parsePasskey(value: unknown, what: string): PasskeySummary {
  const { id, name, created_at_ms, last_used_ms } = object(value, what);
  return {
    id: string(id, `${what}.id`),
    name: string(name, `${what}.name`),
    created_at_ms: number(created_at_ms, `${what}.created_at_ms`),
    last_used_ms: last_used_ms === null || last_used_ms === undefined ? null : number(last_used_ms, `${what}.last_used_ms`),
  };
}

function accountPath(accountId: string): string {
  return `/api/v1/accounts/${encodeURIComponent(accountId)}`;
}

function parseAccountSummary(value: unknown, what: string): AccountSummary {
  const { id, kind, display_name, email, roles, status, created_at_ms } = object(value, what);
  if (kind !== "staff" && kind !== "customer") throw new ApiError(`${what}: kind is ${String(kind)}`);
  if (status !== "pending" && status !== "active" && status !== "disabled") {
    throw new ApiError(`${what}: status is ${String(status)}`);
  }
  if (!Array.isArray(roles)) throw new ApiError(`${what}: roles is not an array`);
  return {
    id: string(id, `${what}.id`),
    kind,
    display_name: string(display_name, `${what}.display_name`),
    email: string(email, `${what}.email`),
    roles: roles.map((role: unknown) => string(role, `${what}.roles[]`)),
    status,
    created_at_ms: number(created_at_ms, `${what}.created_at_ms`),
  };
}

function parseEnrolmentLink(value: unknown, what: string): EnrolmentLink {
  const { account, enrolment_path, expires_at_ms } = object(value, what);
  const path = string(enrolment_path, `${what}.enrolment_path`);
  // Only ever a path of this site with a token in the fragment: the page puts its own origin
  // in front, so an answer can never turn the link into one to another site.
  if (!/^\/enrol#[^\s#]+$/.test(path)) throw new ApiError(`${what}: enrolment_path is not /enrol#<token>`);
  return {
    account: parseAccountSummary(account, `${what}.account`),
    enrolment_path: path,
    expires_at_ms: number(expires_at_ms, `${what}.expires_at_ms`),
  };
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ApiError(`${what}: not an object`);
  return value as Record<string, unknown>;
}

function string(value: unknown, what: string): string {
  if (typeof value !== "string") throw new ApiError(`${what} is not a string`);
  return value;
}

function number(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw new ApiError(`${what} is not a number`);
  return value;
}

function boolean(value: unknown, what: string): boolean {
  if (typeof value !== "boolean") throw new ApiError(`${what} is not a boolean`);
  return value;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}
