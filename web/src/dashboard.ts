//! `/meetings`: the adviser's dashboard. Advisers see the meetings they host (title, time,
//! status, whether a passcode or an identity proof is needed), book new ones, copy a meeting's link, invite a customer
//! by e-mail, change a meeting and cancel it after a question.
//!
//! The server decides everything: who may book (anyone without the adviser role sees a plain
//! "this page is for advisers"), what a valid title, time and passcode are, and when a fresh
//! second factor is needed (`step_up_required`, answered by the step-up dialog, after which the
//! action runs again by itself). The title is the adviser's own note: the page says so, and the
//! server never puts it in an invitation. A passcode is sent once and never shown again (the
//! server keeps only its hash). The CSRF token from `GET /api/v1/session` is kept in memory only.

import {
  cancelMeeting,
  createMeeting,
  fetchMeetings,
  fetchServerInfo,
  fetchSession,
  inviteToMeeting,
  updateMeeting,
  type MeetingStatus,
  type MeetingView,
  type SessionInfo,
} from "./api";
import { element, Localized, type Message } from "./dom";
import { isSignedOut, logIfUnexpected, messageFor, problemCode } from "./errors";
import { alertRegion, field, form, submitButton, type Alert, type Field, type SubmitButton } from "./forms";
import { formatWindow, type Lang, type MessageKey } from "./i18n";
import { pageHeading, pageLink, type Page, type PageContext } from "./page";
import { paths, roomPath } from "./router";
import { StepUpCancelled, stepUpDialog, type StepUp } from "./step-up";

/** What a meeting's card shows besides its facts: a form, a question, or nothing. */
type CardMode = "invite" | "edit" | "cancel";

const statusKeys: Readonly<Record<MeetingStatus, MessageKey>> = {
  scheduled: "meetingStatusScheduled",
  cancelled: "meetingStatusCancelled",
  ended: "meetingStatusEnded",
};

/** The server's limits, checked here too so the person hears about them before sending. */
const titleMax = 200;
const passcodeMin = 6;
const passcodeMax = 64;

export function dashboardPage(context: PageContext): Page {
  const texts = new Localized(context.lang());
  let stateTexts = new Localized(texts.lang);
  let disposed = false;

  const heading = pageHeading(texts, "meetingsTitle");
  // Whether customers can prove their identity here (a customer e-ID provider is configured).
  const eidAvailable = fetchServerInfo().then(
    (server) => server.sso.customer,
    () => false,
  );
  const body = element("div", { class: "dashboard" });
  const root = element("div", { class: "page" }, heading, body);

  showState((scope) => [scope.text(element("p", { role: "status" }), "meetingsLoading")]);
  void load();

  async function load(): Promise<void> {
    let info: SessionInfo;
    let meetings: readonly MeetingView[];
    try {
      info = await fetchSession();
      if (disposed) return;
      context.setSignedIn(info.account);
      if (!info.account.roles.includes("adviser")) return showNoAccess();
      meetings = await fetchMeetings();
    } catch (error) {
      if (disposed) return;
      if (isSignedOut(error)) return signedOut();
      if (problemCode(error) === "forbidden") return showNoAccess();
      logIfUnexpected("could not load the meetings", error);
      showState((scope) => [scope.text(element("p", { class: "alert-static", role: "alert" }), "meetingsFailed")]);
      return;
    }
    if (disposed) return;
    showDashboard(info, meetings);
  }

  function signedOut(): void {
    context.setSignedIn(null);
    context.navigate(paths.signIn, { replace: true });
  }

  function showState(build: (scope: Localized) => Node[]): void {
    stateTexts = new Localized(texts.lang);
    body.replaceChildren(...build(stateTexts));
  }

  function showNoAccess(): void {
    showState((scope) => [
      scope.text(element("p", { class: "lead", "data-testid": "no-access" }), "meetingsNoAccess"),
      scope.text(element("p"), "meetingsNoAccessHint"),
      element("p", {}, pageLink(context, scope, paths.account, "toAccount")),
    ]);
  }

  function showDashboard(info: SessionInfo, initial: readonly MeetingView[]): void {
    showState((scope) => {
      const stepUp = stepUpDialog(scope, () => info.csrf_token);
      const list = meetingsSection(scope, info, initial, stepUp);
      return [
        scope.text(element("p", { class: "lead" }), "meetingsIntro"),
        createSection(scope, info, stepUp, list),
        list.element,
        stepUp.dialog,
      ];
    });
  }

  /** Failure handling shared by every action: sign-in page, or the message in `alert`. */
  function failed(error: unknown, alert: Alert, focus: HTMLElement): void {
    if (isSignedOut(error)) return signedOut();
    if (!(error instanceof StepUpCancelled)) logIfUnexpected("a meeting action failed", error);
    alert.show(problemCode(error) === "not_found" ? { key: "meetingNotFound" } : actionMessage(error));
    focus.focus();
  }

  function createSection(scope: Localized, info: SessionInfo, stepUp: StepUp, list: MeetingsSection): HTMLElement {
    const alert = alertRegion(scope, "create-error");
    const fields = meetingFields(scope, "create", null, eidAvailable);
    const submit = submitButton(scope, "bookMeeting");
    const createForm = form(
      { class: "form meeting-form", "aria-labelledby": "create-heading" },
      () => void create(),
      ...fields.rows,
      element("div", { class: "actions" }, submit.button),
    );

    async function create(): Promise<void> {
      const checked = fields.check(alert);
      if (checked === null) return;
      submit.setBusy(true);
      let meeting: MeetingView;
      try {
        meeting = await stepUp.guard(() => createMeeting(checked, info.csrf_token));
      } catch (error) {
        if (disposed) return;
        submit.setBusy(false);
        fields.showServerError(error, alert, (focus) => failed(error, alert, focus), submit.button);
        return;
      }
      if (disposed) return;
      submit.setBusy(false);
      fields.reset();
      list.added(meeting);
    }

    return element(
      "section",
      { class: "create-section", "aria-labelledby": "create-heading" },
      scope.text(element("h2", { id: "create-heading" }), "createMeetingTitle"),
      alert.element,
      createForm,
    );
  }

  interface MeetingsSection {
    readonly element: HTMLElement;
    /** Shows a newly booked meeting, announces it and moves focus to it. */
    added(meeting: MeetingView): void;
  }

  function meetingsSection(
    scope: Localized,
    info: SessionInfo,
    initial: readonly MeetingView[],
    stepUp: StepUp,
  ): MeetingsSection {
    let meetings = [...initial];
    let mode: { readonly meetingId: string; readonly mode: CardMode } | null = null;
    let announced: Message | null = null;
    let cardTexts = new Localized(scope.lang);
    scope.bind((_t, lang) => cardTexts.apply(lang));
    /** Where focus goes once the cards are rebuilt. */
    let focusAfter: HTMLElement | null = null;

    const listHeading = scope.text(element("h2", { id: "meetings-heading", tabindex: "-1" }), "meetingsListTitle");
    const status = element("p", { class: "status-inline", role: "status", "aria-live": "polite", "data-testid": "meetings-status" });
    scope.bind((t) => (status.textContent = announced === null ? "" : t(announced.key, announced.params)));
    const list = element("ul", { class: "meeting-list", "aria-labelledby": "meetings-heading" });
    const empty = scope.text(element("p", { class: "hint" }), "noMeetings");

    showCards();

    function announce(message: Message | null): void {
      announced = message;
      scope.apply();
    }

    function showCards(): void {
      cardTexts = new Localized(scope.lang);
      focusAfter = null;
      empty.hidden = meetings.length > 0;
      list.replaceChildren(...meetings.map((meeting, index) => card(meeting, index)));
    }

    function replace(meeting: MeetingView): void {
      const index = meetings.findIndex((each) => each.id === meeting.id);
      if (index >= 0) meetings[index] = meeting;
      else meetings = [...meetings, meeting].sort((a, b) => a.starts_at_ms - b.starts_at_ms);
    }

    /** Opens or closes a card's form or question and puts focus where the person continues. */
    function setMode(next: typeof mode, focus?: () => HTMLElement | null): void {
      mode = next;
      showCards();
      (focusAfter ?? focus?.() ?? listHeading).focus();
    }

    function buttonOf(meetingId: string, action: CardMode): HTMLElement | null {
      return list.querySelector(`li[data-meeting-id="${meetingId}"] [data-action="${action}"]`);
    }

    function card(meeting: MeetingView, index: number): HTMLLIElement {
      const prefix = `meeting-${index}`;
      const titleId = `${prefix}-title`;
      const title = element("h3", { id: titleId, tabindex: "-1" }, meeting.title);
      const when = element("dd");
      cardTexts.bind((_t, lang) => (when.textContent = formatWindow(lang, meeting.starts_at_ms, meeting.ends_at_ms)));
      const facts = element(
        "dl",
        { class: "meeting-facts" },
        element("div", {}, cardTexts.text(element("dt"), "meetingWhen"), when),
        element(
          "div",
          {},
          cardTexts.text(element("dt"), "status"),
          cardTexts.text(element("dd", { class: `meeting-status-${meeting.status}` }), statusKeys[meeting.status]),
        ),
        element(
          "div",
          {},
          cardTexts.text(element("dt"), "meetingHasPasscode"),
          cardTexts.text(element("dd"), meeting.has_passcode ? "yes" : "no"),
        ),
        element(
          "div",
          {},
          cardTexts.text(element("dt"), "meetingIdentityProof"),
          cardTexts.text(
            element("dd"),
            !meeting.identity_proof ? "no" : meeting.has_passcode ? "meetingIdentityProofAlternative" : "meetingIdentityProofRequired",
          ),
        ),
      );
      const alert = alertRegion(cardTexts, `${prefix}-error`);
      const item = element(
        "li",
        { class: "meeting", "data-meeting-id": meeting.id, "data-status": meeting.status, "aria-labelledby": titleId },
        title,
        facts,
      );
      if (meeting.status !== "scheduled") {
        item.append(alert.element);
        return item;
      }
      item.append(linkRow(meeting, prefix, titleId), alert.element);
      const cardMode = mode !== null && mode.meetingId === meeting.id ? mode.mode : null;
      switch (cardMode) {
        case "invite":
          item.append(inviteForm(meeting, prefix, alert));
          break;
        case "edit":
          item.append(editForm(meeting, prefix, alert));
          break;
        case "cancel":
          item.append(cancelQuestion(meeting, prefix, alert));
          break;
        case null:
          item.append(actions(meeting, titleId));
      }
      return item;
    }

    /** The link in a read-only field, with a Copy button and its own confirmation. */
    function linkRow(meeting: MeetingView, prefix: string, titleId: string): HTMLElement {
      const url = `${location.origin}${meeting.link_path}`;
      const inputId = `${prefix}-link`;
      const input = element("input", {
        type: "text",
        id: inputId,
        class: "link-field",
        readonly: "",
        autocomplete: "off",
        spellcheck: "false",
        "data-testid": "meeting-link",
      });
      input.value = url;
      input.addEventListener("focus", () => input.select());
      const copy = cardTexts.text(
        element("button", { type: "button", class: "secondary", "aria-describedby": titleId, "data-action": "copy" }),
        "copyMeetingLink",
      );
      let copyMessage: MessageKey | null = null;
      const copyStatus = element("p", { class: "status-inline", role: "status" });
      cardTexts.bind((t) => (copyStatus.textContent = copyMessage === null ? "" : t(copyMessage)));
      copy.addEventListener("click", () => {
        void (async () => {
          try {
            await navigator.clipboard.writeText(url);
            copyMessage = "copied";
          } catch {
            // No clipboard access: the link is selected for copying by hand.
            input.focus();
            input.select();
            copyMessage = "copyFailed";
          }
          if (!disposed) cardTexts.apply();
        })();
      });
      return element(
        "div",
        { class: "field" },
        cardTexts.text(element("label", { for: inputId }), "meetingLink"),
        element("div", { class: "input-with-button" }, input, copy),
        copyStatus,
      );
    }

    function actions(meeting: MeetingView, titleId: string): HTMLElement {
      const group = element("div", { class: "row-actions", role: "group" });
      cardTexts.attribute(group, "aria-label", "meetingActions", { title: meeting.title });
      group.append(
        pageLink(context, cardTexts, roomPath(meeting.id), "openRoom", {
          class: "primary room-link",
          "data-action": "open-room",
          "aria-describedby": titleId,
        }),
      );
      const entries: ReadonlyArray<readonly [CardMode, MessageKey, string]> = [
        ["invite", "inviteByEmail", "secondary"],
        ["edit", "editMeeting", "secondary"],
        ["cancel", "cancelMeeting", "secondary danger"],
      ];
      for (const [action, label, style] of entries) {
        const button = cardTexts.text(
          element("button", {
            type: "button",
            class: style,
            "data-action": action,
            "aria-describedby": titleId,
          }),
          label,
        );
        button.addEventListener("click", () => {
          announce(null);
          setMode({ meetingId: meeting.id, mode: action });
        });
        group.append(button);
      }
      return group;
    }

    function closer(meeting: MeetingView, action: CardMode): () => void {
      return () => setMode(null, () => buttonOf(meeting.id, action));
    }

    function inviteForm(meeting: MeetingView, prefix: string, alert: Alert): HTMLFormElement {
      const email = field(cardTexts, {
        id: `${prefix}-invite-email`,
        label: "customerEmail",
        hint: { key: "customerEmailHint" },
        attributes: { type: "email", name: "email", autocomplete: "off", autocapitalize: "none", spellcheck: "false", required: "" },
      });
      const send = submitButton(cardTexts, "sendInvitation");
      const cancel = cardTexts.text(element("button", { type: "button", class: "secondary" }), "cancel");
      const close = closer(meeting, "invite");
      cancel.addEventListener("click", close);
      const node = form(
        { class: "form card-form" },
        () => void invite(),
        email.row,
        element("div", { class: "actions" }, send.button, cancel),
      );
      node.addEventListener("keydown", (event) => {
        if (event.key === "Escape") close();
      });
      focusAfter = email.input;

      async function invite(): Promise<void> {
        const address = email.input.value.trim();
        if (address === "") return invalid(email, alert, { key: "customerEmailMissing" });
        if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(address)) return invalid(email, alert, { key: "inviteEmailInvalid" });
        email.setInvalid(null);
        alert.show(null);
        send.setBusy(true);
        // The time in the invitation is written as a clock here shows it at the meeting's start.
        const offset = -new Date(meeting.starts_at_ms).getTimezoneOffset();
        try {
          await stepUp.guard(() => inviteToMeeting(meeting.id, address, offset, info.csrf_token));
        } catch (error) {
          if (disposed) return;
          send.setBusy(false);
          if (problemCode(error) === "invalid_email") return invalid(email, alert, messageFor(error));
          failed(error, alert, email.input);
          return;
        }
        if (disposed) return;
        setMode(null, () => buttonOf(meeting.id, "invite"));
        announce({ key: "invitationSent", params: { email: address } });
      }
      return node;
    }

    function editForm(meeting: MeetingView, prefix: string, alert: Alert): HTMLFormElement {
      const fields = meetingFields(cardTexts, `${prefix}-edit`, meeting, eidAvailable);
      const save = submitButton(cardTexts, "saveMeeting");
      const cancel = cardTexts.text(element("button", { type: "button", class: "secondary" }), "cancel");
      const close = closer(meeting, "edit");
      cancel.addEventListener("click", close);
      const node = form(
        { class: "form card-form" },
        () => void saveChanges(),
        ...fields.rows,
        element("div", { class: "actions" }, save.button, cancel),
      );
      node.addEventListener("keydown", (event) => {
        if (event.key === "Escape") close();
      });
      focusAfter = fields.first;

      async function saveChanges(): Promise<void> {
        const checked = fields.check(alert);
        if (checked === null) return;
        save.setBusy(true);
        let updated: MeetingView;
        try {
          updated = await stepUp.guard(() =>
            updateMeeting(meeting.id, { ...checked, remove_passcode: fields.removePasscode() }, info.csrf_token),
          );
        } catch (error) {
          if (disposed) return;
          save.setBusy(false);
          fields.showServerError(error, alert, (focus) => failed(error, alert, focus), save.button);
          return;
        }
        if (disposed) return;
        replace(updated);
        setMode(null, () => buttonOf(updated.id, "edit"));
        announce({ key: "meetingSaved", params: { title: updated.title } });
      }
      return node;
    }

    function cancelQuestion(meeting: MeetingView, prefix: string, alert: Alert): HTMLElement {
      const questionId = `${prefix}-question`;
      const question = cardTexts.text(
        element("p", { id: questionId, tabindex: "-1", class: "confirm-question" }),
        "confirmCancelMeeting",
        { title: meeting.title },
      );
      const yes = submitButton(cardTexts, "confirmCancelMeetingButton", { type: "button", class: "danger" });
      const no = cardTexts.text(element("button", { type: "button", class: "secondary" }), "keepMeeting");
      const close = closer(meeting, "cancel");
      no.addEventListener("click", close);
      yes.button.addEventListener("click", () => void confirmCancel(meeting, yes, alert));
      const group = element(
        "div",
        { class: "confirm", role: "group", "aria-labelledby": questionId },
        question,
        element("div", { class: "actions" }, yes.button, no),
      );
      group.addEventListener("keydown", (event) => {
        if (event.key === "Escape") close();
      });
      focusAfter = question;
      return group;
    }

    async function confirmCancel(meeting: MeetingView, yes: SubmitButton, alert: Alert): Promise<void> {
      alert.show(null);
      yes.setBusy(true);
      let cancelled: MeetingView;
      try {
        cancelled = await stepUp.guard(() => cancelMeeting(meeting.id, info.csrf_token));
      } catch (error) {
        if (disposed) return;
        yes.setBusy(false);
        failed(error, alert, yes.button);
        return;
      }
      if (disposed) return;
      replace(cancelled);
      setMode(null, () => list.querySelector<HTMLElement>(`li[data-meeting-id="${cancelled.id}"] h3`));
      announce({ key: "meetingCancelled", params: { title: cancelled.title } });
    }

    const section = element(
      "section",
      { class: "meetings-section", "aria-labelledby": "meetings-heading" },
      listHeading,
      status,
      empty,
      list,
    );

    return {
      element: section,
      added(meeting: MeetingView): void {
        replace(meeting);
        mode = null;
        showCards();
        announce({ key: "meetingBooked", params: { title: meeting.title } });
        list.querySelector<HTMLElement>(`li[data-meeting-id="${meeting.id}"] h3`)?.focus();
      },
    };
  }

  return {
    root,
    title: "meetingsTitle",
    render: (lang: Lang) => {
      texts.apply(lang);
      stateTexts.apply(lang);
    },
    focus: () => heading.focus(),
    dispose: () => {
      disposed = true;
    },
  };
}

/** What the booking form checked: ready for `createMeeting` / `updateMeeting`. */
interface CheckedMeeting {
  readonly title: string;
  readonly starts_at_ms: number;
  readonly ends_at_ms: number;
  readonly passcode: string | null;
  readonly identity_proof: boolean;
}

interface MeetingFields {
  readonly rows: readonly HTMLElement[];
  readonly first: HTMLInputElement;
  /** The values, or null after showing in `alert` what to fix (focus on that field). */
  check(alert: Alert): CheckedMeeting | null;
  /** Whether "Remove the passcode" is ticked (only when editing a meeting that has one). */
  removePasscode(): boolean;
  /** Empties the form for the next meeting. */
  reset(): void;
  /** Shows a refusal from the server at the field it concerns, or hands it to `otherwise`. */
  showServerError(error: unknown, alert: Alert, otherwise: (focus: HTMLElement) => void, button: HTMLElement): void;
}

/**
 * Title, start, end, passcode and identity proof, empty for a new meeting or filled in from
 * `meeting`. The identity proof is offered once `eidAvailable` says customers can give one (or
 * when the meeting has it already, so that it can be turned off).
 */
function meetingFields(texts: Localized, prefix: string, meeting: MeetingView | null, eidAvailable: Promise<boolean>): MeetingFields {
  const title = field(texts, {
    id: `${prefix}-title`,
    label: "meetingTitle",
    hint: { key: "meetingTitleHint" },
    attributes: { type: "text", name: "title", autocomplete: "off", maxlength: String(titleMax), required: "" },
  });
  const starts = field(texts, {
    id: `${prefix}-starts`,
    label: "meetingStarts",
    attributes: { type: "datetime-local", name: "starts", required: "" },
  });
  const ends = field(texts, {
    id: `${prefix}-ends`,
    label: "meetingEnds",
    hint: { key: "meetingWindowHint" },
    attributes: { type: "datetime-local", name: "ends", required: "" },
  });
  const passcode = field(texts, {
    id: `${prefix}-passcode`,
    label: meeting?.has_passcode ? "meetingNewPasscode" : "meetingPasscode",
    hint: { key: meeting?.has_passcode ? "meetingNewPasscodeHint" : "meetingPasscodeHint" },
    attributes: { type: "password", name: "passcode", autocomplete: "off", spellcheck: "false", maxlength: String(passcodeMax) },
    revealable: true,
    revealLabels: { show: "showPasscode", hide: "hidePasscode" },
  });
  const rows: HTMLElement[] = [title.row, element("div", { class: "window-fields" }, starts.row, ends.row), passcode.row];
  let remove: HTMLInputElement | null = null;
  if (meeting?.has_passcode) {
    const removeId = `${prefix}-remove-passcode`;
    remove = element("input", { type: "checkbox", id: removeId, name: "remove_passcode" });
    rows.push(element("div", { class: "checkbox" }, remove, texts.text(element("label", { for: removeId }), "removePasscode")));
  }
  const identityId = `${prefix}-identity-proof`;
  const identity = element("input", { type: "checkbox", id: identityId, name: "identity_proof", "aria-describedby": `${identityId}-hint` });
  const identityRow = element(
    "div",
    { class: "checkbox" },
    identity,
    texts.text(element("label", { for: identityId }), "meetingIdentityProofLabel"),
    texts.text(element("p", { class: "hint", id: `${identityId}-hint` }), "meetingIdentityProofHint"),
  );
  identityRow.hidden = !meeting?.identity_proof;
  void eidAvailable.then((available) => {
    if (available) identityRow.hidden = false;
  });
  rows.push(identityRow);
  const all = [title, starts, ends, passcode];

  function fill(): void {
    title.input.value = meeting?.title ?? "";
    starts.input.value = meeting ? localInputValue(meeting.starts_at_ms) : "";
    ends.input.value = meeting ? localInputValue(meeting.ends_at_ms) : "";
    passcode.input.value = "";
    passcode.input.type = "password";
    if (remove) remove.checked = false;
    identity.checked = meeting?.identity_proof ?? false;
  }
  fill();

  function fail(alert: Alert, target: Field, message: Message): null {
    for (const each of all) each.setInvalid(each === target ? alert.id : null);
    alert.show(message);
    target.input.focus();
    return null;
  }

  return {
    rows,
    first: title.input,
    check(alert: Alert): CheckedMeeting | null {
      const titleValue = title.input.value.trim();
      if (titleValue === "") return fail(alert, title, { key: "meetingTitleMissing" });
      if ([...titleValue].length > titleMax) return fail(alert, title, { key: "meetingTitleInvalid" });
      const startsMs = starts.input.value === "" ? Number.NaN : new Date(starts.input.value).getTime();
      if (Number.isNaN(startsMs)) return fail(alert, starts, { key: "meetingStartMissing" });
      const endsMs = ends.input.value === "" ? Number.NaN : new Date(ends.input.value).getTime();
      if (Number.isNaN(endsMs)) return fail(alert, ends, { key: "meetingEndMissing" });
      if (endsMs <= startsMs || endsMs <= Date.now()) return fail(alert, ends, { key: "meetingWindowInvalid" });
      const passcodeValue = passcode.input.value;
      const length = [...passcodeValue].length;
      if (passcodeValue !== "" && (length < passcodeMin || length > passcodeMax)) {
        return fail(alert, passcode, { key: "meetingPasscodeInvalid" });
      }
      for (const each of all) each.setInvalid(null);
      alert.show(null);
      return {
        title: titleValue,
        starts_at_ms: startsMs,
        ends_at_ms: endsMs,
        passcode: passcodeValue === "" || remove?.checked ? null : passcodeValue,
        identity_proof: identity.checked,
      };
    },
    removePasscode: () => remove?.checked ?? false,
    reset: fill,
    showServerError(error: unknown, alert: Alert, otherwise: (focus: HTMLElement) => void, button: HTMLElement): void {
      const target: Field | null = (() => {
        switch (problemCode(error)) {
          case "invalid_title":
            return title;
          case "invalid_window":
            return ends;
          case "invalid_passcode":
            return passcode;
          default:
            return null;
        }
      })();
      if (target === null) return otherwise(button);
      fail(alert, target, messageFor(error));
    },
  };
}

function invalid(target: Field, alert: Alert, message: Message): void {
  target.setInvalid(alert.id);
  alert.show(message);
  target.input.focus();
}

/** `YYYY-MM-DDTHH:MM` in this browser's time zone, as a `datetime-local` input holds it. */
function localInputValue(epochMs: number): string {
  const at = new Date(epochMs);
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

/** The message for a failed action, including a cancelled step-up. */
function actionMessage(error: unknown): Message {
  return error instanceof StepUpCancelled ? { key: "stepUpCancelled" } : messageFor(error);
}
