//! `/enrol#<token>`: a new staff member sets up their account from the link an administrator
//! sent. The page shows whose account it is, the authenticator secret (QR code and typed form),
//! asks for a new password and a first code, then shows the recovery codes once.
//!
//! The token travels in the URL fragment, which browsers never send to a server. The page reads
//! it once and removes it from the address bar at once (`history.replaceState`), so it is not
//! left in the history. After that it lives only in the closures of the form, which are dropped
//! with the form once the enrolment has finished.

import { finishEnrolment, startEnrolment, type Enrolment, type EnrolmentFinished } from "./api";
import { element, Localized, type Message } from "./dom";
import { logIfUnexpected, messageFor, problemCode } from "./errors";
import { alertRegion, field, form, submitButton, type Field } from "./forms";
import type { Lang, MessageKey } from "./i18n";
import type { Page, PageContext } from "./page";
import { paths } from "./router";

export function enrolPage(context: PageContext): Page {
  // Before anything else can fail: the token must not stay in the address bar.
  const token = takeTokenFromFragment();

  const texts = new Localized(context.lang());
  let stateTexts = new Localized(texts.lang);
  let disposed = false;
  let headingKey: MessageKey = "enrolTitle";

  const heading = element("h1", { tabindex: "-1" });
  texts.bind((t) => (heading.textContent = t(headingKey)));
  const body = element("div", { class: "enrol" });
  const root = element("div", { class: "page" }, heading, body);

  if (token === null) showMessage({ key: "enrolNoToken" });
  else start(token);

  function showState(build: (scope: Localized) => Node[]): void {
    stateTexts = new Localized(texts.lang);
    body.replaceChildren(...build(stateTexts));
  }

  function start(linkToken: string): void {
    showState((scope) => [scope.text(element("p", { role: "status" }), "enrolLoading")]);
    startEnrolment(linkToken).then(
      (enrolment) => {
        if (!disposed) showForm(linkToken, enrolment);
      },
      (error: unknown) => {
        if (disposed) return;
        logIfUnexpected("could not open the enrolment", error);
        // An invalid link stays invalid; anything else may pass, so offer to try again.
        if (problemCode(error) === "enrolment_invalid") showMessage(messageFor(error));
        else showMessage(messageFor(error), () => start(linkToken));
      },
    );
  }

  /** A message instead of the form, with a "Try again" button if trying again can help. */
  function showMessage(message: Message, retry?: () => void): void {
    showState((scope) => {
      const paragraph = scope.text(element("p", { class: "alert-static", role: "alert" }), message.key, message.params);
      if (!retry) return [paragraph];
      const again = scope.text(element("button", { type: "button", class: "primary" }), "tryAgain");
      again.addEventListener("click", retry);
      return [paragraph, element("div", { class: "actions" }, again)];
    });
  }

  function showForm(linkToken: string, enrolment: Enrolment): void {
    showState((scope) => {
      const facts = element(
        "dl",
        { class: "facts" },
        scope.text(element("dt"), "name"),
        element("dd", {}, enrolment.display_name),
        scope.text(element("dt"), "email"),
        element("dd", {}, enrolment.email),
      );
      const steps = element(
        "section",
        { class: "steps", "aria-labelledby": "enrol-steps-heading" },
        scope.text(element("h2", { id: "enrol-steps-heading" }), "enrolStepsHeading"),
        element(
          "ol",
          {},
          ...(["enrolStepApp", "enrolStepScan", "enrolStepForm", "enrolStepSave"] as const).map((key) =>
            scope.text(element("li"), key),
          ),
        ),
      );

      const { secret, qr_data_url: qrDataUrl } = enrolment.totp;
      const qr = scope.attribute(
        element("img", { class: "qr", src: qrDataUrl, width: "200", height: "200" }),
        "alt",
        "qrAlt",
      );
      const secretText = element(
        "code",
        { class: "secret", id: "totp-secret", "data-testid": "totp-secret", "data-secret": secret },
        groupsOfFour(secret),
      );
      const authenticator = element(
        "div",
        { class: "authenticator" },
        qr,
        element(
          "div",
          { class: "secret-box" },
          scope.text(element("p", { class: "secret-label", id: "totp-secret-label" }), "totpSecret"),
          secretText,
        ),
      );
      secretText.setAttribute("aria-labelledby", "totp-secret-label");

      const alert = alertRegion(scope, "enrol-error");
      // Lets password managers store the new password under the right account.
      const username = element("input", {
        type: "email",
        name: "username",
        autocomplete: "username",
        value: enrolment.email,
        hidden: "",
        readonly: "",
      });
      const minLength = enrolment.min_password_length;
      const password = field(scope, {
        id: "enrol-password",
        label: "newPassword",
        hint: { key: "newPasswordHint", params: { min: String(minLength) } },
        attributes: { type: "password", name: "new-password", autocomplete: "new-password", required: "" },
        revealable: true,
      });
      const code = field(scope, {
        id: "enrol-code",
        label: "codeFromApp",
        hint: { key: "oneTimeCodeHint" },
        attributes: { type: "text", name: "totp_code", inputmode: "numeric", autocomplete: "one-time-code", spellcheck: "false", required: "" },
      });
      const submit = submitButton(scope, "enrolSubmit");
      const enrolForm = form(
        { class: "form" },
        () => void submitEnrolment(),
        username,
        password.row,
        code.row,
        element("div", { class: "actions" }, submit.button),
      );

      function fail(message: Message, invalid: Field | null): void {
        for (const each of [password, code]) each.setInvalid(each === invalid ? alert.id : null);
        alert.show(message);
        (invalid ?? password).input.focus();
      }

      async function submitEnrolment(): Promise<void> {
        const newPassword = password.input.value;
        const totpCode = code.input.value.replace(/\s+/g, "");
        // Counted in Unicode code points, as the server counts them.
        if ([...newPassword].length < minLength) {
          return fail({ key: "passwordTooShort", params: { min: String(minLength) } }, password);
        }
        if (!/^\d{6}$/.test(totpCode)) return fail({ key: "codeMalformed" }, code);
        for (const each of [password, code]) each.setInvalid(null);
        alert.show(null);
        submit.setBusy(true);
        let finished: EnrolmentFinished;
        try {
          finished = await finishEnrolment(linkToken, newPassword, totpCode);
        } catch (error) {
          if (disposed) return;
          submit.setBusy(false);
          logIfUnexpected("could not finish the enrolment", error);
          switch (problemCode(error)) {
            case "password_rejected":
              return fail(messageFor(error), password);
            case "invalid_code":
              code.input.value = "";
              return fail(messageFor(error), code);
            case "enrolment_invalid":
              return showMessage(messageFor(error));
            default:
              return fail(messageFor(error), null);
          }
        }
        if (disposed) return;
        context.setSignedIn(finished.session.account);
        showRecoveryCodes(finished.recovery_codes);
      }

      return [facts, steps, authenticator, alert.element, enrolForm];
    });
  }

  function showRecoveryCodes(codes: readonly string[]): void {
    headingKey = "recoveryTitle";
    texts.apply();
    showState((scope) => {
      const list = element(
        "ol",
        { class: "recovery-codes", "data-testid": "recovery-codes" },
        ...codes.map((code) => element("li", {}, element("code", {}, code))),
      );
      const saved = element("input", { type: "checkbox", id: "recovery-saved" });
      const proceed = scope.text(element("button", { type: "button", class: "primary", disabled: "" }), "continue");
      saved.addEventListener("change", () => (proceed.disabled = !saved.checked));
      proceed.addEventListener("click", () => context.navigate(paths.account));
      return [
        scope.text(element("p", { class: "lead" }), "recoveryIntro"),
        scope.text(element("p"), "recoveryKeepSafe"),
        list,
        element(
          "div",
          { class: "checkbox" },
          saved,
          scope.text(element("label", { for: "recovery-saved" }), "recoverySaved"),
        ),
        element("div", { class: "actions" }, proceed),
      ];
    });
    heading.focus();
  }

  return {
    root,
    title: "enrolTitle",
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

/** The token from `#<token>`, after removing the fragment from the address bar and history entry. */
function takeTokenFromFragment(): string | null {
  const fragment = location.hash.slice(1);
  if (location.hash !== "") history.replaceState(history.state, "", location.pathname + location.search);
  if (fragment === "") return null;
  try {
    return decodeURIComponent(fragment);
  } catch {
    return fragment;
  }
}

/** "JBSWY3DPEHPK3PXP" → "JBSW Y3DP EHPK 3PXP", easier to read and type. */
function groupsOfFour(secret: string): string {
  return (secret.match(/.{1,4}/g) ?? []).join(" ");
}
