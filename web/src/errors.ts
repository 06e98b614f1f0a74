//! What to tell the person when a call fails: each failure the server can name gets a message
//! that says what to do next. Pages may pick a more specific message for a code (a wrong recovery
//! code is not "wait for the next code"); everything else comes from here.

import { ApiProblem, ApiUnreachable, type Problem } from "./api";
import type { Message } from "./dom";
import type { MessageKey } from "./i18n";
import { PasskeyCancelled, PasskeysUnsupported } from "./passkey";

/** The message for any failure of an API call. */
export function messageFor(error: unknown): Message {
  // Dismissing the browser's passkey prompt, or a browser without passkeys, is said in words too.
  if (error instanceof PasskeyCancelled) return { key: "passkeyCancelled" };
  if (error instanceof PasskeysUnsupported) return { key: "passkeyUnsupported" };
  if (!(error instanceof ApiProblem)) {
    // No answer at all (or one that made no sense): most likely the connection.
    return { key: error instanceof ApiUnreachable ? "networkError" : "unexpectedError" };
  }
  const problem = error.problem;
  switch (problem.code) {
    case "invalid_credentials":
      return { key: "invalidCredentials" };
    case "throttled": {
      const minutes = Math.max(1, Math.ceil(problem.retry_after_secs / 60));
      return minutes === 1 ? { key: "throttledOne" } : { key: "throttledMany", params: { minutes: String(minutes) } };
    }
    case "invalid_code":
      return { key: "invalidCode" };
    case "mfa_expired":
      return { key: "mfaExpired" };
    case "enrolment_invalid":
      return { key: "enrolmentInvalid" };
    case "password_rejected":
      return passwordMessage(problem);
    case "session_expired":
      return { key: "sessionExpired" };
    case "forbidden":
      return { key: "forbidden" };
    case "step_up_required":
      return { key: "stepUpRequired" };
    case "invalid_email":
      return { key: "inviteEmailInvalid" };
    case "invalid_name":
      return { key: "inviteNameInvalid" };
    case "invalid_roles":
      return { key: "rolesInvalid" };
    case "account_exists":
      return { key: "accountExists" };
    case "passkey_refused":
      return { key: "passkeyRefused" };
    case "passkey_expired":
    case "registration_expired":
      return { key: "passkeyExpired" };
    case "passkey_malformed":
      return { key: "passkeyMalformed" };
    case "passkey_exists":
      return { key: "passkeyExists" };
    case "too_many_passkeys":
      return { key: "tooManyPasskeys" };
    case "invalid_title":
      return { key: "meetingTitleInvalid" };
    case "invalid_window":
      return { key: "meetingWindowInvalid" };
    case "invalid_passcode":
      return { key: "meetingPasscodeInvalid" };
    case "meeting_closed":
      return { key: "meetingClosed" };
    case "meeting_erased":
      return { key: "meetingNotFound" };
    case "email_not_configured":
      return { key: "emailNotConfigured" };
    case "email_unavailable":
      return { key: "emailUnavailable" };
    case "email_refused":
      return { key: "emailRefused" };
    case "too_many_invitations":
      return { key: "tooManyInvitations" };
    case "invitation_in_progress":
      return { key: "invitationInProgress" };
    case "identity_proof_unavailable":
      return { key: "meetingIdentityProofUnavailable" };
    case "identity_proof_stale":
      return { key: "identityProofStale" };
    case "identity_proof_method":
    case "not_a_customer":
    case "no_verified_identity":
      return { key: "identityProofUnusable" };
    case "credential_not_accepted":
      return { key: "identityProofNotTaken" };
    case "no_place":
      return { key: "joinNoPlace" };
    case "banned":
      return { key: "joinBanned" };
    case "unauthenticated":
    case "not_found":
    case "unknown":
      return { key: "unexpectedError" };
  }
}

/**
 * Whether `error` says this browser is not (or no longer) signed in: never was, signed out
 * elsewhere, timed out, or the account was disabled. Pages then go to the sign-in page.
 */
export function isSignedOut(error: unknown): boolean {
  const code = problemCode(error);
  return code === "unauthenticated" || code === "session_expired";
}

/** The problem's code if `error` is a refusal the server explained, else null. */
export function problemCode(error: unknown): Problem["code"] | null {
  return error instanceof ApiProblem ? error.problem.code : null;
}

/**
 * Writes failures the person cannot fix to the console, for whoever debugs. Refusals that are
 * part of normal use (a wrong password, an expired link) are not logged: they are not faults.
 */
export function logIfUnexpected(what: string, error: unknown): void {
  // Dismissing the browser's passkey prompt, or a browser without passkeys, is not a fault.
  if (error instanceof PasskeyCancelled || error instanceof PasskeysUnsupported) return;
  const code = problemCode(error);
  if (code === null || code === "unknown") console.error(`Trygg: ${what}`, error);
}

function passwordMessage(problem: Extract<Problem, { code: "password_rejected" }>): Message {
  switch (problem.reason) {
    case "too_short":
      return problem.min_length === null
        ? { key: "passwordRejected" }
        : { key: "passwordTooShort", params: { min: String(problem.min_length) } };
    case "too_long":
      return { key: "passwordTooLong" };
    case "common":
      return { key: "passwordCommon" };
    case "context_specific":
      return { key: "passwordContextSpecific" };
    case "repetitive":
      return { key: "passwordRepetitive" };
    case "unknown":
      return { key: "passwordRejected" };
  }
}

/** The text for each refusal code the server's single sign-on callback sends back. */
const ssoErrors: Readonly<Record<string, MessageKey>> = {
  mfa_required: "ssoErrorMfaRequired",
  no_account: "ssoErrorNoAccount",
  no_role: "ssoErrorNoRole",
  state: "ssoErrorState",
  cancelled: "ssoErrorCancelled",
  unavailable: "ssoErrorUnavailable",
  claims_missing: "ssoErrorClaimsMissing",
  failed: "ssoErrorFailed",
};

export function ssoErrorMessage(code: string | null): MessageKey | null {
  if (code === null) return null;
  return Object.hasOwn(ssoErrors, code) ? ssoErrors[code]! : "ssoErrorFailed";
}
