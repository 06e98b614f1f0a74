//! `/admin`: account administration. Administrators see every account, invite staff (each
//! invitation gives a one-time enrolment link to pass on), change an account's roles, end its
//! sessions, reset its second factor (a new enrolment link) and disable it.
//!
//! The server decides everything: who may open the page (anyone else gets 403 and a localized
//! "no access"), who may do what, and when a fresh second factor is needed (`step_up_required`,
//! answered by the step-up dialog in step-up.ts, after which the action runs again by itself).
//! Nobody administers their own account, so the signed-in person's row offers no actions.
//! The page keeps the CSRF token from `GET /api/v1/session` in memory only, and an enrolment link
//! only while it is shown: "Hide the link" or leaving the page drops it.

import {
  disableAccount,
  endAccountSessions,
  fetchAccounts,
  fetchSession,
  inviteAccount,
  resetSecondFactor,
  setAccountRoles,
  type AccountStatus,
  type AccountSummary,
  type EnrolmentLink,
  type SessionInfo,
} from "./api";
import { element, Localized, type Message } from "./dom";
import { isSignedOut, logIfUnexpected, messageFor, problemCode } from "./errors";
import {
  alertRegion,
  checkboxGroup,
  field,
  form,
  submitButton,
  type CheckboxGroup,
  type Field,
  type SubmitButton,
} from "./forms";
import { formatDateTime, type Lang, type MessageKey } from "./i18n";
import { pageHeading, pageLink, type Page, type PageContext } from "./page";
import { roleKey, roleList, roles } from "./roles";
import { paths } from "./router";
import { StepUpCancelled, stepUpDialog, type StepUp } from "./step-up";

/** What can be done to an account from its row. */
type RowAction = "roles" | "endSessions" | "reset" | "disable";

/** A row that shows more than its buttons: the roles editor, or a question before a risky action. */
interface RowMode {
  readonly accountId: string;
  readonly action: "roles" | "reset" | "disable";
}

/** The enrolment link on show, after an invitation or a reset of the second factor. */
interface ShownLink {
  readonly kind: "invited" | "reset";
  readonly account: AccountSummary;
  readonly url: string;
  readonly expiresAtMs: number;
  /** How long the link works, as the server said when it was made. */
  readonly minutes: number;
}

/** The panel that shows an enrolment link. */
interface LinkPanel {
  readonly element: HTMLElement;
  /** Shows the link and moves focus to it. */
  show(kind: ShownLink["kind"], link: EnrolmentLink): void;
}

/** The list of accounts with its row actions. */
interface AccountsSection {
  readonly element: HTMLElement;
  /** Adds the account to the list, or replaces it there, and shows the list again. */
  put(account: AccountSummary): void;
}

const statusKeys: Readonly<Record<AccountStatus, MessageKey>> = {
  pending: "statusPending",
  active: "statusActive",
  disabled: "statusDisabled",
};

const roleChoices = roles.map((role) => ({ value: role, label: roleKey(role) }));

/** Labels of the row buttons, in the order they are shown. */
const rowActions: ReadonlyArray<{ readonly action: RowAction; readonly label: MessageKey }> = [
  { action: "roles", label: "changeRoles" },
  { action: "endSessions", label: "endSessions" },
  { action: "reset", label: "resetMfa" },
  { action: "disable", label: "disable" },
];

export function adminPage(context: PageContext): Page {
  const texts = new Localized(context.lang());
  // The part below the heading is rebuilt when the state changes, with bindings of its own.
  let stateTexts = new Localized(texts.lang);
  let disposed = false;

  const heading = pageHeading(texts, "adminTitle");
  const body = element("div", { class: "admin" });
  const root = element("div", { class: "page" }, heading, body);

  showState((scope) => [scope.text(element("p", { role: "status" }), "adminLoading")]);

  void load();

  async function load(): Promise<void> {
    let info: SessionInfo;
    let accounts: readonly AccountSummary[];
    try {
      // One after the other: someone who is not signed in gets one 401, not two.
      info = await fetchSession();
      if (disposed) return;
      context.setSignedIn(info.account);
      accounts = await fetchAccounts();
    } catch (error) {
      if (disposed) return;
      if (isSignedOut(error)) return signedOut();
      if (problemCode(error) === "forbidden") return showNoAccess();
      logIfUnexpected("could not load the accounts", error);
      showState((scope) => [scope.text(element("p", { class: "alert-static", role: "alert" }), "adminFailed")]);
      return;
    }
    if (disposed) return;
    showAdministration(info, accounts);
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
      scope.text(element("p", { class: "lead", "data-testid": "no-access" }), "noAccess"),
      scope.text(element("p"), "noAccessHint"),
      element("p", {}, pageLink(context, scope, paths.account, "toAccount")),
    ]);
  }

  function showAdministration(info: SessionInfo, initialAccounts: readonly AccountSummary[]): void {
    showState((scope) => {
      const stepUp = stepUpDialog(scope, () => info.csrf_token);
      const link = linkPanel(scope);
      const accounts = accountsSection(scope, info, initialAccounts, stepUp, link);
      const invite = inviteSection(scope, info, stepUp, link, accounts);
      return [
        scope.text(element("p", { class: "lead" }), "adminIntro"),
        link.element,
        invite,
        accounts.element,
        stepUp.dialog,
      ];
    });
  }

  /** Where an enrolment link is shown, with a Copy button, its expiry and what to do with it. */
  function linkPanel(scope: Localized): LinkPanel {
    let shown: ShownLink | null = null;
    let copyMessage: MessageKey | null = null;

    const linkHeading = element("h2", { id: "link-heading", tabindex: "-1" });
    const lead = element("p");
    const input = element("input", {
      type: "text",
      id: "enrolment-link",
      class: "link-field",
      readonly: "",
      autocomplete: "off",
      spellcheck: "false",
      "aria-describedby": "enrolment-link-expiry enrolment-link-advice",
      "data-testid": "enrolment-link",
    });
    const copy = scope.text(element("button", { type: "button", class: "secondary" }), "copy");
    const copyStatus = element("p", { class: "status-inline", role: "status" });
    const expiry = element("p", { id: "enrolment-link-expiry" });
    const advice = element("p", { id: "enrolment-link-advice" });
    const hide = scope.text(element("button", { type: "button", class: "link-button" }), "hideLink");

    scope.bind((t, lang) => {
      copyStatus.textContent = copyMessage === null ? "" : t(copyMessage);
      if (shown === null) return;
      const name = shown.account.display_name;
      linkHeading.textContent = t("linkTitle", { name });
      lead.textContent = t(shown.kind === "invited" ? "invitedLead" : "resetLead", { name, email: shown.account.email });
      expiry.textContent = t("linkExpiry", {
        minutes: String(shown.minutes),
        time: formatDateTime(lang, shown.expiresAtMs),
      });
      advice.textContent = t("linkTrusted", { name });
    });

    const panel = element(
      "section",
      { class: "link-panel", "aria-labelledby": "link-heading", hidden: "" },
      linkHeading,
      lead,
      element(
        "div",
        { class: "field" },
        scope.text(element("label", { for: "enrolment-link" }), "linkLabel"),
        element("div", { class: "input-with-button" }, input, copy),
      ),
      copyStatus,
      expiry,
      advice,
      element("p", { class: "form-links" }, hide),
    );

    copy.addEventListener("click", () => void copyLink());
    // Selecting everything at once makes copying by hand one keystroke.
    input.addEventListener("focus", () => input.select());
    hide.addEventListener("click", () => {
      shown = null;
      copyMessage = null;
      input.value = "";
      panel.hidden = true;
      scope.apply();
      heading.focus();
    });

    async function copyLink(): Promise<void> {
      if (shown === null) return;
      try {
        await navigator.clipboard.writeText(shown.url);
        copyMessage = "copied";
      } catch {
        // No clipboard access (a browser setting, or no permission): copying by hand still works.
        input.focus();
        input.select();
        copyMessage = "copyFailed";
      }
      if (!disposed) scope.apply();
    }

    return {
      element: panel,
      show(kind: ShownLink["kind"], link: EnrolmentLink): void {
        shown = {
          kind,
          account: link.account,
          url: `${location.origin}${link.enrolment_path}`,
          expiresAtMs: link.expires_at_ms,
          minutes: Math.max(1, Math.round((link.expires_at_ms - Date.now()) / 60_000)),
        };
        copyMessage = null;
        input.value = shown.url;
        panel.hidden = false;
        scope.apply();
        linkHeading.focus();
      },
    };
  }

  function inviteSection(
    scope: Localized,
    info: SessionInfo,
    stepUp: StepUp,
    link: LinkPanel,
    accounts: AccountsSection,
  ): HTMLElement {
    const alert = alertRegion(scope, "invite-error");
    const email = field(scope, {
      id: "invite-email",
      label: "email",
      attributes: { type: "email", name: "email", autocomplete: "off", autocapitalize: "none", spellcheck: "false", required: "" },
    });
    const name = field(scope, {
      id: "invite-name",
      label: "name",
      attributes: { type: "text", name: "display_name", autocomplete: "off", required: "" },
    });
    const chosenRoles = checkboxGroup(scope, {
      id: "invite-roles",
      legend: { key: "roles" },
      hint: { key: "rolesHint" },
      name: "roles",
      choices: roleChoices,
    });
    const submit = submitButton(scope, "inviteSubmit");
    const inviteForm = form(
      { class: "form", "aria-labelledby": "invite-heading" },
      () => void invite(),
      email.row,
      name.row,
      chosenRoles.fieldset,
      element("div", { class: "actions" }, submit.button),
    );

    type Invalid = Field | CheckboxGroup | null;

    function fail(message: Message, invalid: Invalid): void {
      for (const each of [email, name, chosenRoles]) each.setInvalid(each === invalid ? alert.id : null);
      alert.show(message);
      if (invalid === null) submit.button.focus();
      else if ("input" in invalid) invalid.input.focus();
      else invalid.first.focus();
    }

    async function invite(): Promise<void> {
      const emailValue = email.input.value.trim();
      const nameValue = name.input.value.trim();
      const roleValues = chosenRoles.checked();
      if (emailValue === "") return fail({ key: "inviteEmailMissing" }, email);
      // The server has the last word; this only catches what is plainly not an address.
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(emailValue)) return fail({ key: "inviteEmailInvalid" }, email);
      if (nameValue === "") return fail({ key: "inviteNameMissing" }, name);
      if (roleValues.length === 0) return fail({ key: "rolesMissing" }, chosenRoles);
      for (const each of [email, name, chosenRoles]) each.setInvalid(null);
      alert.show(null);
      submit.setBusy(true);
      let result: EnrolmentLink;
      try {
        result = await stepUp.guard(() =>
          inviteAccount({ email: emailValue, display_name: nameValue, roles: roleValues }, info.csrf_token),
        );
      } catch (error) {
        if (disposed) return;
        submit.setBusy(false);
        if (isSignedOut(error)) return signedOut();
        if (!(error instanceof StepUpCancelled)) logIfUnexpected("could not invite", error);
        switch (problemCode(error)) {
          case "invalid_email":
          case "account_exists":
            return fail(messageFor(error), email);
          case "invalid_name":
            return fail(messageFor(error), name);
          case "invalid_roles":
            return fail(messageFor(error), chosenRoles);
          default:
            return fail(actionMessage(error), null);
        }
      }
      if (disposed) return;
      submit.setBusy(false);
      email.input.value = "";
      name.input.value = "";
      chosenRoles.setChecked([]);
      accounts.put(result.account);
      link.show("invited", result);
    }

    return element(
      "section",
      { class: "invite-section", "aria-labelledby": "invite-heading" },
      scope.text(element("h2", { id: "invite-heading" }), "inviteTitle"),
      scope.text(element("p"), "inviteIntro"),
      alert.element,
      inviteForm,
    );
  }

  function accountsSection(
    scope: Localized,
    info: SessionInfo,
    initialAccounts: readonly AccountSummary[],
    stepUp: StepUp,
    link: LinkPanel,
  ): AccountsSection {
    let accounts = [...initialAccounts];
    let mode: RowMode | null = null;
    let announced: Message | null = null;
    // Re-translating the page re-translates the rows too; they are rebuilt after each change.
    let rowTexts = new Localized(scope.lang);
    scope.bind((_t, lang) => rowTexts.apply(lang));
    /** Each row's buttons by account id, so focus can return to one after the rows are rebuilt. */
    let rowButtons = new Map<string, Map<RowAction, HTMLButtonElement>>();
    /** Where focus goes once a row has opened its editor or question. */
    let modeFocus: HTMLElement | null = null;

    const accountsHeading = scope.text(element("h2", { id: "accounts-heading", tabindex: "-1" }), "accountsTitle");
    const status = element("p", { class: "status-inline", role: "status", "data-testid": "accounts-status" });
    scope.bind((t) => (status.textContent = announced === null ? "" : t(announced.key, announced.params)));
    const alert = alertRegion(scope, "accounts-error");
    const tbody = element("tbody");
    const headerCell = (key: MessageKey) => scope.text(element("th", { scope: "col" }), key);
    const table = element(
      "table",
      { class: "accounts", "aria-labelledby": "accounts-heading" },
      element(
        "thead",
        {},
        element(
          "tr",
          {},
          headerCell("name"),
          headerCell("email"),
          headerCell("roles"),
          headerCell("status"),
          headerCell("accountCreated"),
          element("th", { scope: "col" }, scope.text(element("span", { class: "visually-hidden" }), "accountActions")),
        ),
      ),
      tbody,
    );

    showRows();

    function showRows(): void {
      rowTexts = new Localized(scope.lang);
      rowButtons = new Map();
      modeFocus = null;
      tbody.replaceChildren(...accounts.map((account, index) => row(account, index)));
    }

    function announce(message: Message | null): void {
      announced = message;
      scope.apply();
    }

    function clearMessages(): void {
      alert.show(null);
      announce(null);
    }

    function replace(account: AccountSummary): void {
      const index = accounts.findIndex((each) => each.id === account.id);
      if (index >= 0) accounts[index] = account;
      else accounts = [...accounts, account];
    }

    /** Opens or closes a row's editor or question, and puts focus where the person continues. */
    function setMode(next: RowMode | null, focusAfter?: { readonly accountId: string; readonly action: RowAction }): void {
      mode = next;
      showRows();
      if (modeFocus !== null) modeFocus.focus();
      else if (focusAfter) focusButton(focusAfter.accountId, focusAfter.action);
    }

    function focusButton(accountId: string, action: RowAction): void {
      const buttons = rowButtons.get(accountId);
      const target = buttons?.get(action) ?? [...(buttons?.values() ?? [])].find((button) => !button.disabled);
      (target ?? accountsHeading).focus();
    }

    function failed(error: unknown, focus: HTMLElement): void {
      if (isSignedOut(error)) return signedOut();
      if (!(error instanceof StepUpCancelled)) logIfUnexpected("account administration failed", error);
      alert.show(problemCode(error) === "not_found" ? { key: "accountNotFound" } : actionMessage(error));
      focus.focus();
    }

    function row(account: AccountSummary, index: number): HTMLTableRowElement {
      const own = account.id === info.account.id;
      const nameId = `account-${index}-name`;
      const nameCell = element("th", { scope: "row", id: nameId }, element("span", {}, account.display_name));
      if (own) nameCell.append(" ", rowTexts.text(element("strong", { class: "badge" }), "you"));
      const cell = (label: MessageKey, ...children: Node[]) =>
        rowTexts.attribute(element("td", {}, ...children), "data-label", label);

      const roleNames = element("span");
      rowTexts.bind((t) => (roleNames.textContent = roleList(t, account.roles)));
      const statusText = element("span", { class: `account-status account-status-${account.status}` });
      rowTexts.bind((t) => (statusText.textContent = t(statusKeys[account.status])));
      const created = element("time", { datetime: new Date(account.created_at_ms).toISOString() });
      rowTexts.bind((_t, lang) => (created.textContent = formatDateTime(lang, account.created_at_ms)));

      const rowMode = mode !== null && mode.accountId === account.id ? mode.action : null;
      const rolesCell = cell("roles", rowMode === "roles" ? rolesEditor(account, index) : roleNames);
      const actions = element("td", { class: "account-actions" });
      if (rowMode === "reset" || rowMode === "disable") actions.append(question(account, index, rowMode));
      else actions.append(...buttons(account, nameId, own, rowMode === "roles"));

      return element(
        "tr",
        { "data-account-id": account.id, "data-status": account.status, ...(own ? { "data-own": "true" } : {}) },
        nameCell,
        cell("email", element("span", { class: "account-email" }, account.email)),
        rolesCell,
        cell("status", statusText),
        cell("accountCreated", created),
        actions,
      );
    }

    function buttons(account: AccountSummary, nameId: string, own: boolean, editing: boolean): HTMLElement[] {
      // A disabled account has no sessions, and a reset would make it usable again.
      const offered = account.status === "disabled" ? rowActions.filter(({ action }) => action === "roles") : rowActions;
      const noteId = `${nameId}-own`;
      const byAction = new Map<RowAction, HTMLButtonElement>();
      const group = element("div", { class: "row-actions" });
      for (const { action, label } of offered) {
        const button = submitButton(rowTexts, label, {
          type: "button",
          class: action === "disable" ? "secondary danger" : "secondary",
        });
        button.button.setAttribute("data-action", action);
        // Read with the button, so "Disable" says whose account it disables.
        button.button.setAttribute("aria-describedby", own ? `${nameId} ${noteId}` : nameId);
        if (action === "roles") button.button.setAttribute("aria-expanded", String(editing));
        if (own) {
          button.button.disabled = true;
        } else {
          button.button.addEventListener("click", () => start(account, action, button));
        }
        byAction.set(action, button.button);
        group.append(button.button);
      }
      rowButtons.set(account.id, byAction);
      if (!own) return [group];
      return [group, rowTexts.text(element("p", { class: "hint", id: noteId }), "ownAccountNote")];
    }

    function start(account: AccountSummary, action: RowAction, button: SubmitButton): void {
      clearMessages();
      switch (action) {
        case "roles":
          // A second click closes the editor again.
          if (mode?.accountId === account.id && mode.action === "roles") {
            return setMode(null, { accountId: account.id, action });
          }
          return setMode({ accountId: account.id, action });
        case "reset":
        case "disable":
          return setMode({ accountId: account.id, action });
        case "endSessions":
          return void endSessions(account, button);
      }
    }

    function rolesEditor(account: AccountSummary, index: number): HTMLFormElement {
      const group = checkboxGroup(rowTexts, {
        id: `account-${index}-roles`,
        legend: { key: "rolesOf", params: { name: account.display_name } },
        name: `roles-${index}`,
        choices: roleChoices,
        checked: account.roles,
      });
      const save = submitButton(rowTexts, "saveRoles");
      const cancel = rowTexts.text(element("button", { type: "button", class: "secondary" }), "cancel");
      const close = () => setMode(null, { accountId: account.id, action: "roles" });
      cancel.addEventListener("click", close);
      const editor = form(
        { class: "roles-edit" },
        () => void saveRoles(account, group, save),
        group.fieldset,
        element("div", { class: "actions" }, save.button, cancel),
      );
      editor.addEventListener("keydown", (event) => {
        if (event.key === "Escape") close();
      });
      modeFocus = group.first;
      return editor;
    }

    function question(account: AccountSummary, index: number, action: "reset" | "disable"): HTMLElement {
      const questionId = `account-${index}-question`;
      const name = account.display_name;
      const text = rowTexts.text(
        element("p", { id: questionId, tabindex: "-1", class: "confirm-question" }),
        action === "disable" ? "confirmDisable" : "confirmReset",
        { name },
      );
      const yes = submitButton(rowTexts, action === "disable" ? "confirmDisableButton" : "confirmResetButton", {
        type: "button",
        class: "danger",
      });
      const no = rowTexts.text(element("button", { type: "button", class: "secondary" }), "cancel");
      const close = () => setMode(null, { accountId: account.id, action });
      yes.button.addEventListener("click", () => void (action === "disable" ? disable(account, yes) : reset(account, yes)));
      no.addEventListener("click", close);
      const group = element(
        "div",
        { class: "confirm", role: "group", "aria-labelledby": questionId },
        text,
        element("div", { class: "actions" }, yes.button, no),
      );
      group.addEventListener("keydown", (event) => {
        if (event.key === "Escape") close();
      });
      modeFocus = text;
      return group;
    }

    async function saveRoles(account: AccountSummary, group: CheckboxGroup, save: SubmitButton): Promise<void> {
      const chosen = group.checked();
      clearMessages();
      if (chosen.length === 0) {
        group.setInvalid(alert.id);
        alert.show({ key: "rolesMissing" });
        group.first.focus();
        return;
      }
      group.setInvalid(null);
      save.setBusy(true);
      let updated: AccountSummary;
      try {
        updated = await stepUp.guard(() => setAccountRoles(account.id, chosen, info.csrf_token));
      } catch (error) {
        if (disposed) return;
        save.setBusy(false);
        if (problemCode(error) === "invalid_roles") group.setInvalid(alert.id);
        failed(error, group.first);
        return;
      }
      if (disposed) return;
      replace(updated);
      setMode(null, { accountId: updated.id, action: "roles" });
      announce({ key: "rolesChanged", params: { name: updated.display_name } });
    }

    async function endSessions(account: AccountSummary, button: SubmitButton): Promise<void> {
      button.setBusy(true);
      let ended: number;
      try {
        // Not a sensitive action today; guarded all the same, should the server's policy change.
        ended = await stepUp.guard(() => endAccountSessions(account.id, info.csrf_token));
      } catch (error) {
        if (disposed) return;
        button.setBusy(false);
        failed(error, button.button);
        return;
      }
      if (disposed) return;
      button.setBusy(false);
      announce({ key: "sessionsEnded", params: { name: account.display_name, count: String(ended) } });
      button.button.focus();
    }

    async function disable(account: AccountSummary, yes: SubmitButton): Promise<void> {
      clearMessages();
      yes.setBusy(true);
      let updated: AccountSummary;
      try {
        updated = await stepUp.guard(() => disableAccount(account.id, info.csrf_token));
      } catch (error) {
        if (disposed) return;
        yes.setBusy(false);
        failed(error, yes.button);
        return;
      }
      if (disposed) return;
      replace(updated);
      setMode(null, { accountId: updated.id, action: "roles" });
      announce({ key: "accountDisabled", params: { name: updated.display_name } });
    }

    async function reset(account: AccountSummary, yes: SubmitButton): Promise<void> {
      clearMessages();
      yes.setBusy(true);
      let result: EnrolmentLink;
      try {
        result = await stepUp.guard(() => resetSecondFactor(account.id, info.csrf_token));
      } catch (error) {
        if (disposed) return;
        yes.setBusy(false);
        failed(error, yes.button);
        return;
      }
      if (disposed) return;
      replace(result.account);
      mode = null;
      showRows();
      link.show("reset", result);
    }

    const section = element(
      "section",
      { class: "accounts-section", "aria-labelledby": "accounts-heading" },
      accountsHeading,
      status,
      alert.element,
      element("div", { class: "table-scroll" }, table),
    );

    return {
      element: section,
      put(account: AccountSummary): void {
        replace(account);
        showRows();
      },
    };
  }

  return {
    root,
    title: "adminTitle",
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

/** The message for a failed administration call, including a cancelled step-up. */
function actionMessage(error: unknown): Message {
  return error instanceof StepUpCancelled ? { key: "stepUpCancelled" } : messageFor(error);
}
