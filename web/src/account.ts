//! `/account`: who is signed in, with which roles, a way to sign out, and the account's live
//! sessions, each of the others with a button that signs it out.
//!
//! Everything shown comes from the server on each visit; nothing is cached. Without a session
//! (401) the page sends the person to `/sign-in`. The CSRF token from `GET /api/v1/session` is
//! kept in memory only, for the two state-changing calls this page makes.

import { endSession, fetchSession, fetchSessions, signOut, type SessionInfo, type SessionSummary } from "./api";
import { element, Localized } from "./dom";
import { isSignedOut, logIfUnexpected, messageFor, problemCode } from "./errors";
import { alertRegion, form, submitButton } from "./forms";
import { formatDateTime, type Lang, type MessageKey } from "./i18n";
import { pageHeading, type Page, type PageContext } from "./page";
import { roleList } from "./roles";
import { paths } from "./router";

/** Sign-in methods the client can translate; any other is shown as the server names it. */
const methodNames: Readonly<Record<string, MessageKey>> = {
  "password+totp": "methodPasswordTotp",
  "password+recovery_code": "methodPasswordRecovery",
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
    try {
      // One after the other: someone who is not signed in gets one 401, not two.
      info = await fetchSession();
      sessions = await fetchSessions();
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
    showAccount(info, sessions);
  }

  function showState(build: (scope: Localized) => Node[]): void {
    stateTexts = new Localized(texts.lang);
    body.replaceChildren(...build(stateTexts));
  }

  function showAccount(info: SessionInfo, initialSessions: readonly SessionSummary[]): void {
    showState((scope) => {
      const { account } = info;
      const signedInAs = scope.text(element("p", { class: "lead" }), "signedInAs", {
        name: account.display_name,
        email: account.email,
      });
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

      return [signedInAs, facts, signOutAlert.element, signOutForm, sessionsSection(scope, info, initialSessions)];
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
