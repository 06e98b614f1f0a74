//! `/sign-in`: staff sign in in two steps. First e-mail address and password, then a one-time
//! code from the authenticator app, or one of the recovery codes instead. On success the page
//! goes to `/account`.
//!
//! Or with a passkey alone: the browser offers this site's passkey, the authenticator checks the
//! person's PIN or biometric, and the server signs them in. No e-mail address is asked for.
//!
//! Between the steps the server keeps the half-finished sign-in in an HttpOnly cookie; this page
//! keeps neither the password (the field is emptied once it has been sent) nor any token.
//!
//! When the server has an identity provider for staff (`/api/v1/info` says so), the page also
//! offers "Sign in with your organisation": a plain link to the server's redirect, so the whole
//! exchange with the provider happens between the server and the browser's address bar. A refused
//! single sign-on comes back here as `?sso_error=CODE`, shown in words and then removed from the
//! address bar so a reload does not repeat it.

import {
  fetchServerInfo,
  fetchSession,
  finishPasskeySignIn,
  signInWithPassword,
  signInWithSecondFactor,
  staffSsoStartPath,
  startPasskeySignIn,
  type SecondFactor,
} from "./api";
import { element, Localized, type Message } from "./dom";
import { isSignedOut, logIfUnexpected, messageFor, problemCode, ssoErrorMessage } from "./errors";
import { alertRegion, field, form, submitButton, type Field, type SubmitButton } from "./forms";
import type { Lang } from "./i18n";
import { getPasskey } from "./passkey";
import { pageHeading, type Page, type PageContext } from "./page";
import { paths } from "./router";

type Step = "password" | "code";

type CodeKind = "totp" | "recovery";

export function signInPage(context: PageContext): Page {
  const texts = new Localized(context.lang());
  let disposed = false;
  let step: Step = "password";
  let codeKind: CodeKind = "totp";

  const heading = pageHeading(texts, "signIn");
  const alert = alertRegion(texts, "sign-in-error");

  // Step 1: e-mail address and password.
  const email = field(texts, {
    id: "sign-in-email",
    label: "email",
    attributes: { type: "email", name: "email", autocomplete: "username", autocapitalize: "none", spellcheck: "false", required: "" },
  });
  const password = field(texts, {
    id: "sign-in-password",
    label: "password",
    attributes: { type: "password", name: "password", autocomplete: "current-password", required: "" },
    revealable: true,
  });
  const passwordSubmit = submitButton(texts, "continue");
  const passwordForm = form(
    { class: "form", "data-step": "password" },
    () => void submitPassword(),
    email.row,
    password.row,
    element("div", { class: "actions" }, passwordSubmit.button),
  );

  // Or a passkey instead of both steps.
  const passkeyButton = submitButton(texts, "signInWithPasskey", { type: "button", class: "secondary" });
  passkeyButton.button.id = "sign-in-passkey";
  passkeyButton.button.addEventListener("click", () => void signInWithPasskey());
  const passkeyPart = element(
    "div",
    { class: "passkey-sign-in" },
    texts.text(element("p", { class: "divider" }), "passkeyOr"),
    passkeyButton.button,
  );

  // Step 2: a code from the app, or a recovery code.
  const codeIntro = element("p");
  texts.bind((t) => (codeIntro.textContent = t(codeKind === "totp" ? "codeStepIntro" : "recoveryStepIntro")));
  const totp = field(texts, {
    id: "sign-in-code",
    label: "oneTimeCode",
    hint: { key: "oneTimeCodeHint" },
    attributes: { type: "text", name: "totp_code", inputmode: "numeric", autocomplete: "one-time-code", spellcheck: "false", required: "" },
  });
  const recovery = field(texts, {
    id: "sign-in-recovery-code",
    label: "recoveryCode",
    hint: { key: "recoveryCodeHint" },
    attributes: { type: "text", name: "recovery_code", autocomplete: "off", autocapitalize: "characters", spellcheck: "false", required: "" },
  });
  recovery.row.hidden = true;
  const codeSubmit = submitButton(texts, "signIn");
  const switchKind = element("button", { type: "button", class: "link-button", "aria-controls": "sign-in-code sign-in-recovery-code" });
  texts.bind((t) => (switchKind.textContent = t(codeKind === "totp" ? "useRecoveryCode" : "useAppCode")));
  switchKind.addEventListener("click", () => {
    codeKind = codeKind === "totp" ? "recovery" : "totp";
    totp.row.hidden = codeKind !== "totp";
    recovery.row.hidden = codeKind !== "recovery";
    clearErrors();
    texts.apply();
    currentCodeField().input.focus();
  });
  const startAgain = texts.text(element("button", { type: "button", class: "link-button" }), "startAgain");
  startAgain.addEventListener("click", () => {
    clearErrors();
    showStep("password");
    password.input.focus();
  });
  const codeForm = form(
    { class: "form", "data-step": "code", hidden: "" },
    () => void submitCode(),
    codeIntro,
    totp.row,
    recovery.row,
    element("div", { class: "actions" }, codeSubmit.button),
    element("p", { class: "form-links" }, switchKind, startAgain),
  );

  // Single sign-on: shown once the server says a staff identity provider is configured.
  const ssoLink = texts.text(element("a", { class: "secondary sso-link", href: staffSsoStartPath, id: "sign-in-sso" }), "ssoSignIn");
  const sso = element(
    "div",
    { class: "sso", hidden: "" },
    texts.text(element("p", { class: "separator" }), "ssoOr"),
    ssoLink,
    texts.text(element("p", { class: "hint" }), "ssoHint"),
  );
  fetchServerInfo().then(
    (info) => {
      if (!disposed && info.sso.staff) sso.hidden = false;
    },
    (error: unknown) => logIfUnexpected("could not read the server information", error),
  );

  const root = element(
    "div",
    { class: "page narrow" },
    heading,
    texts.text(element("p", { class: "lead" }), "signInIntro"),
    alert.element,
    passwordForm,
    passkeyPart,
    codeForm,
    sso,
  );

  const ssoError = ssoErrorMessage(new URLSearchParams(location.search).get("sso_error"));
  if (ssoError !== null) {
    alert.show({ key: ssoError });
    history.replaceState(null, "", paths.signIn);
  }

  // Someone who seems to be signed in already is better served by their account page.
  if (context.signedIn()) {
    fetchSession().then(
      (info) => {
        if (disposed) return;
        context.setSignedIn(info.account);
        context.navigate(paths.account, { replace: true });
      },
      (error: unknown) => {
        if (disposed) return;
        if (isSignedOut(error)) context.setSignedIn(null);
        else logIfUnexpected("could not check the session", error);
      },
    );
  }

  const allFields = [email, password, totp, recovery];

  function currentCodeField(): Field {
    return codeKind === "totp" ? totp : recovery;
  }

  function showStep(next: Step): void {
    step = next;
    passwordForm.hidden = step !== "password";
    passkeyPart.hidden = step !== "password";
    codeForm.hidden = step !== "code";
    totp.input.value = "";
    recovery.input.value = "";
  }

  function clearErrors(): void {
    alert.show(null);
    for (const each of allFields) each.setInvalid(null);
  }

  function fail(message: Message, invalid: readonly Field[], focus: HTMLElement): void {
    clearErrors();
    for (const each of invalid) each.setInvalid(alert.id);
    alert.show(message);
    focus.focus();
  }

  /** Runs `request` with `button` busy, and `failed` if it throws while the page is still shown. */
  async function busyWith(button: SubmitButton, request: () => Promise<void>, failed: (error: unknown) => void): Promise<void> {
    clearErrors();
    button.setBusy(true);
    try {
      await request();
    } catch (error) {
      if (disposed) return;
      button.setBusy(false);
      logIfUnexpected("sign-in failed", error);
      failed(error);
      return;
    }
    if (!disposed) button.setBusy(false);
  }

  async function submitPassword(): Promise<void> {
    const emailValue = email.input.value.trim();
    const passwordValue = password.input.value;
    if (emailValue === "") return fail({ key: "emailMissing" }, [email], email.input);
    if (passwordValue === "") return fail({ key: "passwordMissing" }, [password], password.input);
    await busyWith(
      passwordSubmit,
      async () => {
        await signInWithPassword(emailValue, passwordValue);
        if (disposed) return;
        password.input.value = "";
        showStep("code");
        currentCodeField().input.focus();
      },
      (error) => {
        if (problemCode(error) === "invalid_credentials") {
          password.input.value = "";
          fail(messageFor(error), [email, password], password.input);
        } else {
          fail(messageFor(error), [], password.input);
        }
      },
    );
  }

  async function signInWithPasskey(): Promise<void> {
    await busyWith(
      passkeyButton,
      async () => {
        const options = await startPasskeySignIn();
        const credential = await getPasskey(options);
        const info = await finishPasskeySignIn(credential);
        if (disposed) return;
        context.setSignedIn(info.account);
        context.navigate(paths.account);
      },
      (error) => {
        fail(messageFor(error), [], passkeyButton.button);
      },
    );
  }

  async function submitCode(): Promise<void> {
    const kind = codeKind;
    const codeField = currentCodeField();
    // People copy codes with spaces ("123 456"); the server gets them without.
    const value = codeField.input.value.replace(/\s+/g, "");
    let factor: SecondFactor;
    if (kind === "totp") {
      if (!/^\d{6}$/.test(value)) return fail({ key: "codeMalformed" }, [codeField], codeField.input);
      factor = { totp_code: value };
    } else {
      if (value === "") return fail({ key: "recoveryCodeMissing" }, [codeField], codeField.input);
      factor = { recovery_code: value.toUpperCase() };
    }
    await busyWith(
      codeSubmit,
      async () => {
        const info = await signInWithSecondFactor(factor);
        if (disposed) return;
        context.setSignedIn(info.account);
        context.navigate(paths.account);
      },
      (error) => {
        switch (problemCode(error)) {
          case "invalid_code":
            if (kind === "totp") codeField.input.value = "";
            else codeField.input.select();
            fail({ key: kind === "totp" ? "invalidCode" : "invalidRecoveryCode" }, [codeField], codeField.input);
            break;
          case "mfa_expired":
            showStep("password");
            fail(messageFor(error), [], password.input);
            break;
          default:
            fail(messageFor(error), [], codeField.input);
        }
      },
    );
  }

  return {
    root,
    title: "signIn",
    render: (lang: Lang) => texts.apply(lang),
    focus: () => heading.focus(),
    dispose: () => {
      disposed = true;
    },
  };
}
