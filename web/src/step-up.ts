//! The step-up dialog: when the server answers a sensitive request with `step_up_required`, the
//! person confirms their second factor again (a code from the authenticator app, or a recovery
//! code) and the request is sent once more, without them having to repeat what they did.
//!
//! It is a modal `<dialog>` opened with `showModal()`: the rest of the page is inert while it is
//! open, focus starts in the code field and returns where it was, and Escape or "Cancel" closes
//! it, which fails the request with `StepUpCancelled` so the page can say nothing was changed.
//! Codes go only to `POST /api/v1/session/step-up`; the dialog keeps none once it closes. It
//! decides nothing about which actions need a fresh second factor: the server says so.

import { stepUp, type SecondFactor } from "./api";
import { element, Localized, type Message } from "./dom";
import { isSignedOut, logIfUnexpected, messageFor, problemCode } from "./errors";
import { alertRegion, field, form, submitButton, type Field } from "./forms";

/** The person closed the dialog without confirming: the request was not sent again. */
export class StepUpCancelled extends Error {
  override readonly name = "StepUpCancelled";

  constructor() {
    super("the step-up was cancelled");
  }
}

export interface StepUp {
  /** The dialog element; it must be in the document (it stays closed until needed). */
  readonly dialog: HTMLDialogElement;
  /**
   * Runs `request`. If the server asks for a fresh second factor, asks the person for a code and
   * runs `request` again once the server has accepted it. Rejects with `StepUpCancelled` if the
   * person cancels, and with the server's answer if the session has ended meanwhile.
   */
  guard<T>(request: () => Promise<T>): Promise<T>;
}

type CodeKind = "totp" | "recovery";

/** One dialog per page; `csrfToken` is the signed-in session's (see `GET /api/v1/session`). */
export function stepUpDialog(texts: Localized, csrfToken: () => string): StepUp {
  let codeKind: CodeKind = "totp";
  /** The open request for a code: settled when the server accepts one or the dialog closes. */
  let waiting: { readonly resolve: () => void; readonly reject: (error: unknown) => void } | null = null;
  let asked: Promise<void> | null = null;
  /** Counts openings and closings; an answer that arrives after its dialog closed changes nothing. */
  let generation = 0;
  let returnFocus: Element | null = null;

  const title = texts.text(element("h2", { id: "step-up-title" }), "stepUpTitle");
  const intro = element("p", { id: "step-up-intro" });
  texts.bind((t) => (intro.textContent = t(codeKind === "totp" ? "stepUpIntro" : "recoveryStepIntro")));
  const alert = alertRegion(texts, "step-up-error");
  const totp = field(texts, {
    id: "step-up-code",
    label: "oneTimeCode",
    hint: { key: "oneTimeCodeHint" },
    attributes: { type: "text", name: "totp_code", inputmode: "numeric", autocomplete: "one-time-code", spellcheck: "false", required: "" },
  });
  const recovery = field(texts, {
    id: "step-up-recovery-code",
    label: "recoveryCode",
    hint: { key: "recoveryCodeHint" },
    attributes: { type: "text", name: "recovery_code", autocomplete: "off", autocapitalize: "characters", spellcheck: "false", required: "" },
  });
  const switchKind = element("button", {
    type: "button",
    class: "link-button",
    "aria-controls": "step-up-code step-up-recovery-code",
  });
  texts.bind((t) => (switchKind.textContent = t(codeKind === "totp" ? "useRecoveryCode" : "useAppCode")));
  switchKind.addEventListener("click", () => {
    showKind(codeKind === "totp" ? "recovery" : "totp");
    currentField().input.focus();
  });
  const submit = submitButton(texts, "stepUpSubmit");
  const cancel = texts.text(element("button", { type: "button", class: "secondary" }), "cancel");
  cancel.addEventListener("click", () => dialog.close());

  const dialog = element(
    "dialog",
    { class: "dialog", "aria-labelledby": "step-up-title", "aria-describedby": "step-up-intro" },
    form(
      { class: "form" },
      () => void confirm(),
      title,
      intro,
      alert.element,
      totp.row,
      recovery.row,
      element("p", { class: "form-links" }, switchKind),
      element("div", { class: "actions" }, submit.button, cancel),
    ),
  );

  // Escape fires `cancel` and then closes the dialog, like the Cancel button.
  dialog.addEventListener("close", () => {
    // Opened again before this event arrived: that newer request is still waiting.
    if (dialog.open) return;
    generation += 1;
    submit.setBusy(false);
    for (const each of [totp, recovery]) each.input.value = "";
    settle()?.reject(new StepUpCancelled());
    // Back to where the person was, unless something else has taken focus meanwhile.
    const active = document.activeElement;
    if (returnFocus instanceof HTMLElement && returnFocus.isConnected && (active === null || active === document.body)) {
      returnFocus.focus();
    }
    returnFocus = null;
  });

  function currentField(): Field {
    return codeKind === "totp" ? totp : recovery;
  }

  function showKind(kind: CodeKind): void {
    codeKind = kind;
    totp.row.hidden = kind !== "totp";
    recovery.row.hidden = kind !== "recovery";
    clearErrors();
    texts.apply();
  }

  function clearErrors(): void {
    alert.show(null);
    for (const each of [totp, recovery]) each.setInvalid(null);
  }

  function fail(message: Message, invalid: Field): void {
    clearErrors();
    invalid.setInvalid(alert.id);
    alert.show(message);
    invalid.input.focus();
  }

  /** Takes the waiting request out, so it is settled exactly once. */
  function settle(): { readonly resolve: () => void; readonly reject: (error: unknown) => void } | null {
    const pending = waiting;
    waiting = null;
    asked = null;
    return pending;
  }

  /** Opens the dialog, or joins the request for a code that is already open. */
  function ask(): Promise<void> {
    if (asked !== null) return asked;
    asked = new Promise<void>((resolve, reject) => (waiting = { resolve, reject }));
    generation += 1;
    showKind("totp");
    for (const each of [totp, recovery]) each.input.value = "";
    returnFocus = document.activeElement;
    dialog.showModal();
    totp.input.focus();
    return asked;
  }

  async function confirm(): Promise<void> {
    const kind = codeKind;
    const codeField = currentField();
    // People copy codes with spaces ("123 456"); the server gets them without.
    const value = codeField.input.value.replace(/\s+/g, "");
    let factor: SecondFactor;
    if (kind === "totp") {
      if (!/^\d{6}$/.test(value)) return fail({ key: "codeMalformed" }, codeField);
      factor = { totp_code: value };
    } else {
      if (value === "") return fail({ key: "recoveryCodeMissing" }, codeField);
      factor = { recovery_code: value.toUpperCase() };
    }
    clearErrors();
    submit.setBusy(true);
    const mine = generation;
    try {
      await stepUp(factor, csrfToken());
    } catch (error) {
      if (mine !== generation) return;
      submit.setBusy(false);
      if (isSignedOut(error)) {
        // Nothing to confirm any more: the page sends the person to sign in.
        const pending = settle();
        dialog.close();
        pending?.reject(error);
        return;
      }
      logIfUnexpected("step-up failed", error);
      if (problemCode(error) === "invalid_code") {
        if (kind === "totp") codeField.input.value = "";
        else codeField.input.select();
        return fail({ key: kind === "totp" ? "invalidCode" : "invalidRecoveryCode" }, codeField);
      }
      return fail(messageFor(error), codeField);
    }
    if (mine !== generation) return;
    const pending = settle();
    dialog.close();
    pending?.resolve();
  }

  return {
    dialog,
    async guard<T>(request: () => Promise<T>): Promise<T> {
      // Each round needs a code the server accepted, so this cannot spin on its own.
      for (;;) {
        try {
          return await request();
        } catch (error) {
          if (problemCode(error) !== "step_up_required") throw error;
        }
        await ask();
      }
    },
  };
}
