//! `/account`: who is signed in, with which roles, a way to sign out, the account's live
//! sessions, each of the others with a button that signs it out (and, for advisers, the way to
//! their meetings), and its passkeys: add one
//! (named, so it can be recognised) or remove one. Adding and removing need a fresh second
//! factor; the step-up dialog asks for it when the server says so.
//!
//! Everything shown comes from the server on each visit; nothing is cached. Without a session
//! (401) the page sends the person to `/sign-in`. The CSRF token from `GET /api/v1/session` is
//! kept in memory only, for the two state-changing calls this page makes.

import {
  endSession,
  fetchPasskeys,
  fetchSession,
  fetchSessions,
  finishPasskeyRegistration,
  removePasskey,
  signOut,
  startPasskeyRegistration,
  type PasskeySummary,
  type SessionInfo,
  type SessionSummary,
} from "./api";
import { element, Localized, type Message } from "./dom";
import { isSignedOut, logIfUnexpected, messageFor, problemCode } from "./errors";
import { alertRegion, field, form, submitButton } from "./forms";
import { formatDateTime, type Lang, type MessageKey } from "./i18n";
import { pageHeading, pageLink, type Page, type PageContext } from "./page";
import { roleList } from "./roles";
import { createPasskey } from "./passkey";
import { paths } from "./router";
import { StepUpCancelled, stepUpDialog } from "./step-up";

/** Sign-in methods the client can translate; any other is shown as the server names it. */
const methodNames: Readonly<Record<string, MessageKey>> = {
  "password+totp": "methodPasswordTotp",
  "password+recovery_code": "methodPasswordRecovery",
  passkey: "methodPasskey",
};

export function accountPage(context: PageContext): Page {
  const texts = new Localized(context.lang());
  // The part below the heading is rebuilt when the state changes, with bindings of its own.
  let stateTexts = new Localized(texts.lang);
  let disposed = false;

  const heading = pageHeading(texts, "accountTitle");
  const body = element("div", { class: "account" });
  const root = element("div", { class: "page" }, heading, body);

  showState((scope) => [scope.text(element("p", { role: "status" }), "accountLoading")]);

  void load();

  async function load(): Promise<void> {
    let info: SessionInfo;
    let sessions: readonly SessionSummary[];
    let passkeys: readonly PasskeySummary[];
    try {
      // One after the other: someone who is not signed in gets one 401, not two.
      info = await fetchSession();
      sessions = await fetchSessions();
      passkeys = await fetchPasskeys();
    } catch (error) {
      if (disposed) return;
      if (isSignedOut(error)) {
        context.setSignedIn(null);
        context.navigate(paths.signIn, { replace: true });
        return;
      }
      logIfUnexpected("could not load the account", error);
      showState((scope) => [scope.text(element("p", { class: "alert-static", role: "alert" }), "accountFailed")]);
      return;
    }
    if (disposed) return;
    context.setSignedIn(info.account);
    showAccount(info, sessions, passkeys);
  }

  function showState(build: (scope: Localized) => Node[]): void {
    stateTexts = new Localized(texts.lang);
    body.replaceChildren(...build(stateTexts));
  }

  function showAccount(
    info: SessionInfo,
    initialSessions: readonly SessionSummary[],
    initialPasskeys: readonly PasskeySummary[],
  ): void {
    showState((scope) => {
      const { account } = info;
      // A customer identified by e-ID has no e-mail address here.
      const signedInAs =
        account.email === ""
          ? scope.text(element("p", { class: "lead" }), "signedInAsName", { name: account.display_name })
          : scope.text(element("p", { class: "lead" }), "signedInAs", { name: account.display_name, email: account.email });
      const roles = element("dd");
      scope.bind((t) => (roles.textContent = roleList(t, account.roles)));
      const facts = element("dl", { class: "facts" }, scope.text(element("dt"), "roles"), roles);

      const signOutAlert = alertRegion(scope, "sign-out-error");
      const signOutButton = submitButton(scope, "signOut", { class: "secondary" });
      const signOutForm = form({ class: "sign-out" }, () => void submitSignOut(), signOutButton.button);

      async function submitSignOut(): Promise<void> {
        signOutAlert.show(null);
        signOutButton.setBusy(true);
        try {
          await signOut(info.csrf_token);
        } catch (error) {
          // Already signed out (elsewhere, or the session expired) is what the person wanted.
          if (!isSignedOut(error)) {
            if (disposed) return;
            signOutButton.setBusy(false);
            logIfUnexpected("could not sign out", error);
            signOutAlert.show(messageFor(error));
            signOutButton.button.focus();
            return;
          }
        }
        if (disposed) return;
        context.setSignedIn(null);
        context.navigate(paths.signIn);
      }

      // Advisers book their meetings on their own page.
      const meetingsLink = account.roles.includes("adviser")
        ? [element("p", {}, pageLink(context, scope, paths.meetings, "toMeetings"))]
        : [];

      return [
        signedInAs,
        facts,
        ...meetingsLink,
        signOutAlert.element,
        signOutForm,
        sessionsSection(scope, info, initialSessions),
        passkeysSection(scope, info, initialPasskeys),
      ];
    });
  }

  function sessionsSection(
    scope: Localized,
    info: SessionInfo,
    initialSessions: readonly SessionSummary[],
  ): HTMLElement {
    const sessionsHeading = scope.text(element("h2", { tabindex: "-1", id: "sessions-heading" }), "sessionsTitle");
    const status = element("p", { class: "status-inline", role: "status" });
    const alert = alertRegion(scope, "sessions-error");
    const tbody = element("tbody");
    let rowTexts = new Localized(scope.lang);
    // Re-translating the page re-translates the rows too; they are rebuilt after each change.
    scope.bind((_t, lang) => rowTexts.apply(lang));
    let announced: { readonly device: string } | null = null;
    scope.bind((t) => (status.textContent = announced ? t("sessionSignedOut", announced) : ""));

    const headerCell = (key: MessageKey) => scope.text(element("th", { scope: "col" }), key);
    const table = element(
      "table",
      { class: "sessions", "aria-labelledby": "sessions-heading" },
      element(
        "thead",
        {},
        element(
          "tr",
          {},
          headerCell("device"),
          headerCell("authMethod"),
          headerCell("createdAt"),
          headerCell("lastSeen"),
          element("th", { scope: "col" }, scope.text(element("span", { class: "visually-hidden" }), "actions")),
        ),
      ),
      tbody,
    );

    showRows(initialSessions);

    function showRows(sessions: readonly SessionSummary[]): void {
      rowTexts = new Localized(scope.lang);
      const ordered = [...sessions].sort(
        (a, b) => Number(b.current) - Number(a.current) || b.last_seen_ms - a.last_seen_ms,
      );
      tbody.replaceChildren(...ordered.map((session, index) => row(session, index)));
    }

    function row(session: SessionSummary, index: number): HTMLTableRowElement {
      const deviceId = `session-${index}-device`;
      const device = element("th", { scope: "row", id: deviceId }, element("span", {}, session.device));
      if (session.current) {
        device.append(" ", rowTexts.text(element("strong", { class: "badge" }), "thisDevice"));
      }
      const cell = (label: MessageKey, ...children: Node[]) =>
        rowTexts.attribute(element("td", {}, ...children), "data-label", label);
      const method = element("span");
      rowTexts.bind((t) => {
        const key = methodNames[session.auth_method];
        method.textContent = key ? t(key) : session.auth_method;
      });
      // Its column's name is only for screen readers; on narrow screens the button says enough.
      const actions = element("td", { class: "session-actions" });
      if (!session.current) {
        const button = submitButton(rowTexts, "signOutSession", { type: "button", class: "secondary" });
        button.button.setAttribute("aria-describedby", deviceId);
        button.button.addEventListener("click", () => void end(session, button.setBusy));
        actions.append(button.button);
      }
      const tr = element(
        "tr",
        session.current ? { "data-current": "true" } : {},
        device,
        cell("authMethod", method),
        cell("createdAt", time(session.created_at_ms)),
        cell("lastSeen", time(session.last_seen_ms)),
        actions,
      );
      return tr;
    }

    function time(epochMs: number): HTMLTimeElement {
      const node = element("time", { datetime: new Date(epochMs).toISOString() });
      rowTexts.bind((_t, lang) => (node.textContent = formatDateTime(lang, epochMs)));
      return node;
    }

    async function end(session: SessionSummary, setBusy: (busy: boolean) => void): Promise<void> {
      alert.show(null);
      announced = null;
      scope.apply();
      setBusy(true);
      let sessions: readonly SessionSummary[];
      try {
        try {
          await endSession(session.id, info.csrf_token);
        } catch (error) {
          // Gone already (it expired, or was signed out elsewhere): the list below shows the truth.
          if (problemCode(error) !== "not_found") throw error;
        }
        sessions = await fetchSessions();
      } catch (error) {
        if (disposed) return;
        if (isSignedOut(error)) {
          context.setSignedIn(null);
          context.navigate(paths.signIn, { replace: true });
          return;
        }
        setBusy(false);
        logIfUnexpected("could not sign out a session", error);
        alert.show(messageFor(error));
        return;
      }
      if (disposed) return;
      showRows(sessions);
      announced = { device: session.device };
      scope.apply();
      sessionsHeading.focus();
    }

    return element(
      "section",
      { class: "sessions-section", "aria-labelledby": "sessions-heading" },
      sessionsHeading,
      scope.text(element("p"), "sessionsIntro"),
      status,
      alert.element,
      element("div", { class: "table-scroll" }, table),
    );
  }

  function passkeysSection(scope: Localized, info: SessionInfo, initialPasskeys: readonly PasskeySummary[]): HTMLElement {
    const passkeysHeading = scope.text(element("h2", { tabindex: "-1", id: "passkeys-heading" }), "passkeysTitle");
    const status = element("p", { class: "status-inline", role: "status", id: "passkeys-status" });
    let announced: Message | null = null;
    scope.bind((t) => (status.textContent = announced ? t(announced.key, announced.params) : ""));
    const alert = alertRegion(scope, "passkeys-error");
    const stepUp = stepUpDialog(scope, () => info.csrf_token);
    const list = element("ul", { class: "passkeys", "aria-labelledby": "passkeys-heading" });
    let rowTexts = new Localized(scope.lang);
    scope.bind((_t, lang) => rowTexts.apply(lang));

    const name = field(scope, {
      id: "passkey-name",
      label: "passkeyName",
      hint: { key: "passkeyNameHint" },
      attributes: { type: "text", name: "passkey_name", autocomplete: "off", maxlength: "200", required: "" },
    });
    const addButton = submitButton(scope, "addPasskey");
    const addForm = form({ class: "form", id: "passkey-add" }, () => void add(), name.row, element("div", { class: "actions" }, addButton.button));

    showRows(initialPasskeys);

    function showRows(passkeys: readonly PasskeySummary[]): void {
      rowTexts = new Localized(scope.lang);
      if (passkeys.length === 0) {
        list.replaceChildren(rowTexts.text(element("li", { class: "empty" }), "noPasskeys"));
        return;
      }
      list.replaceChildren(...passkeys.map((passkey, index) => row(passkey, index)));
    }

    function row(passkey: PasskeySummary, index: number): HTMLLIElement {
      const nameId = `passkey-${index}-name`;
      const lastUsed = element("span");
      rowTexts.bind((t, lang) => {
        lastUsed.textContent = `${t("passkeyLastUsed")}: ${
          passkey.last_used_ms === null ? t("passkeyNeverUsed") : formatDateTime(lang, passkey.last_used_ms)
        }`;
      });
      const remove = submitButton(rowTexts, "removePasskey", { type: "button", class: "secondary" });
      remove.button.setAttribute("aria-describedby", nameId);
      remove.button.addEventListener("click", () => void removeOne(passkey, remove.setBusy));
      return element(
        "li",
        { "data-passkey": passkey.id },
        element("strong", { id: nameId }, passkey.name),
        " ",
        lastUsed,
        " ",
        remove.button,
      );
    }

    function announce(message: Message | null): void {
      announced = message;
      scope.apply();
    }

    /** Shows why an action failed, unless the page is gone or the session ended. */
    function failed(what: string, error: unknown, focus: HTMLElement): void {
      if (disposed) return;
      if (isSignedOut(error)) {
        context.setSignedIn(null);
        context.navigate(paths.signIn, { replace: true });
        return;
      }
      if (error instanceof StepUpCancelled) alert.show({ key: "stepUpCancelled" });
      else {
        logIfUnexpected(what, error);
        alert.show(messageFor(error));
      }
      focus.focus();
    }

    async function add(): Promise<void> {
      alert.show(null);
      name.setInvalid(null);
      announce(null);
      const label = name.input.value.trim();
      if (label === "") {
        name.setInvalid(alert.id);
        alert.show({ key: "passkeyNameMissing" });
        name.input.focus();
        return;
      }
      addButton.setBusy(true);
      let passkeys: readonly PasskeySummary[];
      try {
        const options = await stepUp.guard(() => startPasskeyRegistration(info.csrf_token));
        const credential = await createPasskey(options);
        await stepUp.guard(() => finishPasskeyRegistration(label, credential, info.csrf_token));
        passkeys = await fetchPasskeys();
      } catch (error) {
        if (!disposed) addButton.setBusy(false);
        failed("could not add a passkey", error, addButton.button);
        return;
      }
      if (disposed) return;
      addButton.setBusy(false);
      name.input.value = "";
      showRows(passkeys);
      announce({ key: "passkeyAdded", params: { name: label } });
    }

    async function removeOne(passkey: PasskeySummary, setBusy: (busy: boolean) => void): Promise<void> {
      alert.show(null);
      announce(null);
      setBusy(true);
      let passkeys: readonly PasskeySummary[];
      try {
        try {
          await stepUp.guard(() => removePasskey(passkey.id, info.csrf_token));
        } catch (error) {
          // Gone already (removed in another tab): the list below shows the truth.
          if (problemCode(error) !== "not_found") throw error;
        }
        passkeys = await fetchPasskeys();
      } catch (error) {
        if (!disposed) setBusy(false);
        failed("could not remove a passkey", error, passkeysHeading);
        return;
      }
      if (disposed) return;
      showRows(passkeys);
      announce({ key: "passkeyRemoved", params: { name: passkey.name } });
      passkeysHeading.focus();
    }

    return element(
      "section",
      { class: "passkeys-section", "aria-labelledby": "passkeys-heading" },
      passkeysHeading,
      scope.text(element("p"), "passkeysIntro"),
      status,
      alert.element,
      list,
      addForm,
      stepUp.dialog,
    );
  }

  return {
    root,
    title: "accountTitle",
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
