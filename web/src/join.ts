//! `/m/<id>`: a customer joins a meeting from the link they were sent. The steps, each one the
//! server asks for in turn: the privacy notice with a choice per purpose, the passcode or an
//! identity proof (as the meeting asks), a check of camera and microphone, the name to be shown,
//! then the lobby — waiting, with a conversation with the adviser — until the adviser lets them
//! in, holds them or turns them away. Inside, the meeting room (room.ts); at the end, a screen
//! that says why it ended.
//!
//! The identity proof is the customer's e-ID (a round trip to the e-ID provider that comes back
//! to this page, `?return_to=/m/<id>`) or, for a returning customer, their passkey. Either signs
//! the customer in; the page then asks the server to take that sign-in's verified identity as
//! the proof (`POST /api/v1/meetings/<id>/identity`), and the host sees the verified name and
//! the personal identity number masked.
//!
//! The place in the meeting is an HttpOnly ticket cookie the server sets when the link is opened;
//! this page keeps no secret, and a reload, a short network drop or the e-ID round trip resumes
//! the same place. The passcode is sent once and the field emptied; nothing typed here is stored.
//! The only thing kept in the browser is, for the e-ID round trip, which meeting's join flow is
//! waiting for the proof (in `sessionStorage`).

import {
  customerEidStartPath,
  fetchSession,
  finishPasskeySignIn,
  proveMeetingIdentity,
  startPasskeySignIn,
} from "./api";
import { element, Localized, type Message } from "./dom";
import { messageFor, ssoErrorMessage } from "./errors";
import { alertRegion, field, form, submitButton, type Alert } from "./forms";
import type { ServerEnvelope, MeetingInfo } from "./generated/signalling";
import type { Lang, MessageKey } from "./i18n";
import { formatDateTime } from "./i18n";
import { getPasskey, passkeysSupported } from "./passkey";
import { pageHeading, type Page, type PageContext } from "./page";
import { endingScreen, refusalMessage, Room, type Ending } from "./room";
import { meetingIdOf } from "./router";
import { describeDevice, Signalling, type ConnectionState } from "./signalling";

const purposeText: Readonly<Record<string, { readonly title: MessageKey; readonly body: MessageKey }>> = {
  meeting: { title: "purposeMeetingTitle", body: "purposeMeetingBody" },
  follow_up: { title: "purposeFollowUpTitle", body: "purposeFollowUpBody" },
};

const joinRefusals: Readonly<Record<string, MessageKey>> = {
  not_found: "joinMeetingNotFound",
  outside_window: "joinOutsideWindow",
  meeting_locked: "joinLocked",
  meeting_full: "joinFull",
  lobby_full: "joinFull",
  banned: "joinBanned",
  meeting_ended: "roomEnded",
};

/** The `sessionStorage` key naming the meeting whose join flow waits for the e-ID's return. */
const proofPendingKey = "trygg.identity-proof";

export function joinPage(context: PageContext): Page {
  const texts = new Localized(context.lang());
  const heading = pageHeading(texts, "joinTitle");
  const connection = element("p", { class: "status-inline", id: "join-connection", role: "status" });
  let connectionKey: MessageKey | null = null;
  texts.bind((t) => (connection.textContent = connectionKey ? t(connectionKey) : ""));
  const body = element("div", { class: "join" });
  const root = element("div", { class: "page" }, heading, connection, body);
  const meetingId = meetingIdOf(location.pathname);
  let stepTexts = new Localized(texts.lang);
  texts.bind((_t, lang) => stepTexts.apply(lang));
  let signalling: Signalling | null = null;
  let meeting: MeetingInfo | null = null;
  let room: Room | null = null;
  let shownStep = "";
  let alert: Alert | null = null;
  let camera: MediaStream | null = null;
  let lobbyLog: HTMLOListElement | null = null;
  let disposed = false;
  // Back from the e-ID provider: a refusal to show, or a proof to hand in, at the credential step.
  let returnedError = ssoErrorMessage(new URLSearchParams(location.search).get("sso_error"));
  if (location.search !== "") history.replaceState(history.state, "", location.pathname);
  let proofPending = meetingId !== null && sessionStorage.getItem(proofPendingKey) === meetingId;
  sessionStorage.removeItem(proofPendingKey);

  showStep("opening", (scope) => [scope.text(element("p", { role: "status" }), "joinOpening")]);
  if (meetingId === null) showProblem({ key: "joinMeetingNotFound" });
  else void open(meetingId);

  async function open(id: string): Promise<void> {
    let response: Response;
    try {
      response = await fetch(`/api/v1/meetings/${encodeURIComponent(id)}/join`, {
        method: "POST",
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
    } catch {
      if (!disposed) showProblem({ key: "networkError" });
      return;
    }
    // The body is read either way, so the request is finished before the socket opens.
    let answer: unknown = null;
    try {
      answer = await response.json();
    } catch {
      // No JSON: for a refusal, the generic message below.
    }
    if (disposed) return;
    if (!response.ok) {
      const code = typeof answer === "object" && answer !== null ? (answer as { code?: unknown }).code : undefined;
      showProblem({ key: joinRefusals[typeof code === "string" ? code : ""] ?? "unexpectedError" });
      return;
    }
    signalling = new Signalling(id, { message: onMessage, state: onState });
  }

  function showStep(name: string, build: (scope: Localized) => Node[]): void {
    shownStep = name;
    stepTexts = new Localized(texts.lang);
    body.dataset.step = name;
    body.replaceChildren(...build(stepTexts));
  }

  function showProblem(message: Message): void {
    stopCamera();
    showStep("problem", (scope) => [scope.text(element("p", { class: "alert-static", role: "alert" }), message.key, message.params)]);
  }

  function finish(ending: Ending, detail: string | null = null): void {
    stopCamera();
    room?.dispose();
    room = null;
    signalling?.stop();
    showStep("ended", () => [endingScreen(texts, ending, detail)]);
  }

  function onState(state: ConnectionState, code: number | null): void {
    if (disposed) return;
    connectionKey = state === "reconnecting" ? "roomReconnecting" : state === "closed" && shownStep !== "ended" ? "roomDisconnected" : null;
    if (state === "open") room?.reconnected();
    texts.apply();
    if (state === "closed" && shownStep !== "ended" && code !== 4000) finish("lost");
  }

  function onMessage(message: ServerEnvelope): void {
    if (disposed) return;
    if (room?.handle(message)) return;
    switch (message.type) {
      case "welcome":
        meeting = message.meeting;
        standing(message.standing);
        break;
      case "resumed":
      case "admitted":
        standing(message.standing);
        break;
      case "join_step":
        step(message.step);
        break;
      case "passcode_wrong":
        alert?.show({ key: message.may_retry ? "passcodeWrong" : "passcodeLockedOut" });
        document.getElementById("join-passcode")?.focus();
        break;
      case "waiting":
        waiting(null, message.expires_at_ms);
        break;
      case "held":
        waiting(message.message, message.expires_at_ms);
        break;
      case "lobby_message":
        lobbyLine(message.from, message.lobby_person, message.text);
        break;
      case "rejected":
        finish("rejected", message.reason);
        break;
      case "expired":
        finish("expired");
        break;
      case "removed":
        finish(message.banned ? "banned" : "removed");
        break;
      case "meeting_ended":
        finish("ended");
        break;
      case "refused":
        alert?.show(joinRefusal(message.code));
        break;
      default:
        break;
    }
  }

  function joinRefusal(code: string): Message {
    switch (code) {
      case "source_locked":
      case "source_throttled":
      case "passcode_locked":
        return { key: "passcodeLockedOut" };
      case "required_consent_refused":
        return { key: "consentRequired" };
      case "invalid_name":
        return { key: "nameInvalid" };
      default:
        return refusalMessage(code);
    }
  }

  function standing(standing: Extract<ServerEnvelope, { type: "welcome" }>["standing"]): void {
    if (standing.state === "joining") step(standing.step);
    else if (standing.state === "waiting") waiting(null, standing.expires_at_ms);
    else if (room === null && signalling !== null) {
      stopCamera();
      room = new Room(texts, signalling, meetingId ?? "", standing, (ending) => finish(ending));
      showStep("room", () => [room?.root ?? element("div")]);
    }
  }

  function step(name: string): void {
    if (name === shownStep) return;
    switch (name) {
      case "consent":
        consentStep();
        break;
      case "credential":
        credentialStep();
        break;
      case "device":
        void deviceStep();
        break;
      case "ready":
        nameStep();
        break;
      default:
        break;
    }
  }

  function consentStep(): void {
    const info = meeting;
    if (info === null) return;
    showStep("consent", (scope) => {
      alert = alertRegion(scope, "join-error");
      const when = element("p", { class: "lead" });
      scope.bind((t, lang) => {
        when.textContent = t("joinWhen", { start: formatDateTime(lang, info.starts_at_ms), end: formatDateTime(lang, info.ends_at_ms) });
      });
      const boxes = info.purposes.map((purpose) => {
        const text = purposeText[purpose.purpose];
        const id = `consent-${purpose.purpose}`;
        const input = element("input", { type: "checkbox", id, name: purpose.purpose });
        const label = element("label", { for: id });
        scope.bind((t) => {
          const title = text ? t(text.title) : purpose.purpose;
          label.textContent = purpose.required ? `${title} ${t("consentRequiredMark")}` : title;
        });
        const explanation = text ? scope.text(element("p", { class: "hint", id: `${id}-hint` }), text.body) : element("p");
        input.setAttribute("aria-describedby", `${id}-hint`);
        return { purpose, input, row: element("div", { class: "checkbox consent" }, input, label, explanation) };
      });
      const submit = submitButton(scope, "continue");
      const consentForm = form(
        { class: "form", "aria-labelledby": "consent-heading" },
        () => {
          alert?.show(null);
          const missing = boxes.some((box) => box.purpose.required && !box.input.checked);
          if (missing) {
            alert?.show({ key: "consentRequired" });
            return;
          }
          signalling?.send({
            type: "consent",
            notice_version: info.notice_version,
            decisions: boxes.map((box) => ({ purpose: box.purpose.purpose, given: box.input.checked })),
          });
        },
        scope.text(element("h2", { id: "consent-heading" }), "noticeTitle"),
        scope.text(element("p"), "noticeIntro"),
        scope.text(element("p", { class: "hint" }), "noticeVersion", { version: info.notice_version }),
        ...boxes.map((box) => box.row),
        element("div", { class: "actions" }, submit.button),
      );
      return [when, alert.element, consentForm];
    });
  }

  function credentialStep(): void {
    const kind = meeting?.credential ?? "passcode";
    const takesPasscode = kind === "passcode" || kind === "passcode_or_identity_proof";
    const takesIdentity = kind === "identity_proof" || kind === "passcode_or_identity_proof";
    showStep("credential", (scope) => {
      alert = alertRegion(scope, "join-error");
      const parts: Node[] = [alert.element];
      if (takesIdentity) parts.push(identitySection(scope));
      if (takesPasscode) {
        const passcode = field(scope, {
          id: "join-passcode",
          label: "passcodeLabel",
          hint: { key: "passcodeHint" },
          attributes: { type: "password", autocomplete: "off", spellcheck: "false", required: "" },
          revealable: true,
        });
        const passcodeForm = form(
          { class: "form" },
          () => {
            alert?.show(null);
            const value = passcode.input.value;
            if (value === "") {
              alert?.show({ key: "passcodeMissing" });
              return;
            }
            signalling?.send({ type: "passcode", passcode: value });
            passcode.input.value = "";
          },
          ...(takesIdentity ? [scope.text(element("p", { class: "divider" }), "identityOrPasscode")] : []),
          passcode.row,
          element("div", { class: "actions" }, submitButton(scope, "continue").button),
        );
        parts.push(passcodeForm);
      }
      return parts;
    });
    if (returnedError !== null) {
      alert?.show({ key: returnedError });
      returnedError = null;
    }
    if (proofPending && takesIdentity) {
      proofPending = false;
      void handInProof(null);
    } else if (takesPasscode) {
      document.getElementById("join-passcode")?.focus();
    } else {
      document.getElementById("join-eid")?.focus();
    }
  }

  /** The two ways to prove who one is: the e-ID (a round trip) or a returning customer's passkey. */
  function identitySection(scope: Localized): HTMLElement {
    const eid = scope.text(element("a", { class: "primary sso-link", id: "join-eid", href: customerEidStartPath(meetingId ?? "") }), "identifyWithEid");
    eid.addEventListener("click", () => {
      if (meetingId !== null) sessionStorage.setItem(proofPendingKey, meetingId);
    });
    const passkey = submitButton(scope, "identifyWithPasskey", { type: "button", class: "secondary" });
    passkey.button.id = "join-passkey";
    passkey.button.hidden = !passkeysSupported();
    passkey.button.addEventListener("click", () => {
      void (async () => {
        passkey.setBusy(true);
        alert?.show(null);
        try {
          const signedIn = await finishPasskeySignIn(await getPasskey(await startPasskeySignIn()));
          if (disposed) return;
          await handInProof(signedIn.csrf_token);
        } catch (error) {
          if (disposed) return;
          alert?.show(messageFor(error));
        } finally {
          passkey.setBusy(false);
        }
      })();
    });
    return element(
      "section",
      { class: "identity-proof", "aria-labelledby": "identity-heading" },
      scope.text(element("h2", { id: "identity-heading" }), "identityProofTitle"),
      scope.text(element("p", {}), "identityProofIntro"),
      element("div", { class: "actions" }, eid, passkey.button),
    );
  }

  /**
   * Asks the server to take this browser's customer sign-in as the identity proof; the server
   * then moves the join flow on over the socket. `csrfToken` is the sign-in's, if known.
   */
  async function handInProof(csrfToken: string | null): Promise<void> {
    if (meetingId === null) return;
    const status = document.getElementById("join-identity-status");
    status?.remove();
    const checking = element("p", { role: "status", id: "join-identity-status" });
    stepTexts.text(checking, "identityChecking");
    alert?.element.after(checking);
    try {
      const token = csrfToken ?? (await fetchSession()).csrf_token;
      await proveMeetingIdentity(meetingId, token);
    } catch (error) {
      if (disposed) return;
      checking.remove();
      alert?.show(messageFor(error));
    }
  }

  async function deviceStep(): Promise<void> {
    const video = element("video", { class: "device-preview", muted: "", playsinline: "", autoplay: "" });
    const result = element("p", { role: "status", id: "device-result" });
    let resultKey: MessageKey = "deviceChecking";
    showStep("device", (scope) => {
      scope.bind((t) => (result.textContent = t(resultKey)));
      const go = submitButton(scope, "continue", { type: "button" });
      go.button.addEventListener("click", () => {
        const supported = typeof RTCPeerConnection === "function";
        signalling?.send({ type: "device", ...describeDevice(), supported });
      });
      return [scope.text(element("p"), "deviceIntro"), video, result, element("div", { class: "actions" }, go.button)];
    });
    try {
      camera = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
      if (disposed || shownStep !== "device") {
        stopCamera();
        return;
      }
      video.srcObject = camera;
      resultKey = "deviceWorks";
    } catch {
      resultKey = "deviceFailed";
    }
    stepTexts.apply();
  }

  function nameStep(): void {
    stopCamera();
    showStep("ready", (scope) => {
      alert = alertRegion(scope, "join-error");
      const name = field(scope, {
        id: "join-name",
        label: "nameLabel",
        hint: { key: "nameHint" },
        attributes: { type: "text", autocomplete: "name", maxlength: "100", required: "" },
      });
      const knockForm = form(
        { class: "form" },
        () => {
          alert?.show(null);
          const value = name.input.value.trim();
          if (value === "") {
            alert?.show({ key: "nameMissing" });
            return;
          }
          signalling?.send({ type: "knock", name: value });
        },
        name.row,
        element("div", { class: "actions" }, submitButton(scope, "knock").button),
      );
      return [alert.element, knockForm];
    });
    document.getElementById("join-name")?.focus();
  }

  function waiting(heldMessage: string | null, expiresAtMs: number): void {
    const keepLog = shownStep === "waiting" ? lobbyLog : null;
    showStep("waiting", (scope) => {
      alert = alertRegion(scope, "join-error");
      const status = scope.text(element("p", { class: "lead", role: "status", id: "waiting-status" }), heldMessage === null ? "waitingForHost" : "waitingHeld");
      const until = element("p", { class: "hint" });
      scope.bind((t, lang) => (until.textContent = t("waitingUntil", { time: formatDateTime(lang, expiresAtMs) })));
      const held = heldMessage === null ? [] : [element("p", { class: "held-message", id: "held-message" }, heldMessage)];
      lobbyLog = keepLog ?? element("ol", { class: "lobby-chat", id: "lobby-chat" });
      scope.attribute(lobbyLog, "aria-label", "lobbyChatWithHost");
      const message = field(scope, {
        id: "lobby-message",
        label: "lobbyMessageToHost",
        attributes: { type: "text", maxlength: "500", autocomplete: "off" },
      });
      const chat = form(
        { class: "form inline" },
        () => {
          const text = message.input.value.trim();
          if (text === "") return;
          signalling?.send({ type: "message_to_hosts", text });
          message.input.value = "";
        },
        message.row,
        submitButton(scope, "sendMessage").button,
      );
      return [status, ...held, until, alert.element, lobbyLog, chat];
    });
  }

  function lobbyLine(from: number, lobbyPerson: number, text: string): void {
    if (lobbyLog === null) return;
    const who = element("span", { class: "who" });
    stepTexts.bind((t) => (who.textContent = from === lobbyPerson ? t("lobbyYou") : t("lobbyAdviser")));
    lobbyLog.append(element("li", {}, who, ": ", text));
  }

  function stopCamera(): void {
    for (const track of camera?.getTracks() ?? []) track.stop();
    camera = null;
  }

  return {
    root,
    title: "joinTitle",
    render: (lang: Lang) => texts.apply(lang),
    focus: () => heading.focus(),
    dispose: () => {
      disposed = true;
      stopCamera();
      room?.dispose();
      signalling?.stop();
    },
  };
}
