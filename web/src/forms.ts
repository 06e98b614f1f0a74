//! The parts every form of the client is made of: labelled fields with hints, one error region
//! per form, and a submit button that shows when a request is on its way.
//!
//! Errors are announced from a `role="alert"` region; each field it concerns gets
//! `aria-invalid="true"` and the region's id in `aria-describedby`, so a screen reader reads the
//! error again when the field is focused. Forms are `novalidate`: the pages check input
//! themselves and say what to do in the person's language, in the same place as server errors.

import { element, Localized, type Message } from "./dom";
import type { MessageKey } from "./i18n";

export interface Field {
  /** Label, hint, input (and show/hide button), to be placed in a form. */
  readonly row: HTMLDivElement;
  readonly input: HTMLInputElement;
  /** Marks the field invalid and points it at the error with `errorId`, or clears both. */
  setInvalid(errorId: string | null): void;
}

export interface FieldOptions {
  /** The input's id; the hint's id is derived from it. */
  readonly id: string;
  readonly label: MessageKey;
  readonly hint?: Message;
  /** Input attributes: type, name, autocomplete, inputmode, ... */
  readonly attributes: Readonly<Record<string, string>>;
  /** Adds a "Show password" button that switches the input between hidden and plain text. */
  readonly revealable?: boolean;
}

export function field(texts: Localized, options: FieldOptions): Field {
  const input = element("input", { ...options.attributes, id: options.id });
  const label = texts.text(element("label", { for: options.id }), options.label);
  const row = element("div", { class: "field" }, label);

  const describedBy: string[] = [];
  if (options.hint) {
    const hintId = `${options.id}-hint`;
    const { key, params } = options.hint;
    row.append(texts.text(element("p", { class: "hint", id: hintId }), key, params));
    describedBy.push(hintId);
  }
  if (describedBy.length > 0) input.setAttribute("aria-describedby", describedBy.join(" "));

  if (options.revealable) {
    const toggle = element("button", { type: "button", class: "reveal", "aria-controls": options.id });
    texts.bind((t) => (toggle.textContent = t(input.type === "password" ? "showPassword" : "hidePassword")));
    toggle.addEventListener("click", () => {
      input.type = input.type === "password" ? "text" : "password";
      texts.apply();
    });
    row.append(element("div", { class: "input-with-button" }, input, toggle));
  } else {
    row.append(input);
  }

  return {
    row,
    input,
    setInvalid(errorId: string | null): void {
      if (errorId === null) input.removeAttribute("aria-invalid");
      else input.setAttribute("aria-invalid", "true");
      const ids = errorId === null ? describedBy : [...describedBy, errorId];
      if (ids.length > 0) input.setAttribute("aria-describedby", ids.join(" "));
      else input.removeAttribute("aria-describedby");
    },
  };
}

export interface Alert {
  readonly element: HTMLDivElement;
  readonly id: string;
  /** Shows `message` (announced at once), or empties the region. */
  show(message: Message | null): void;
}

/**
 * The error region of a form. Each message goes into a new paragraph, so showing the same error
 * twice in a row is announced twice.
 */
export function alertRegion(texts: Localized, id: string): Alert {
  const region = element("div", { class: "alert", role: "alert", id });
  let shown: { readonly paragraph: HTMLParagraphElement; readonly message: Message } | null = null;
  texts.bind((t) => {
    if (shown) shown.paragraph.textContent = t(shown.message.key, shown.message.params);
  });
  return {
    element: region,
    id,
    show(message: Message | null): void {
      if (message === null) {
        shown = null;
        region.replaceChildren();
        return;
      }
      shown = { paragraph: element("p"), message };
      region.replaceChildren(shown.paragraph);
      texts.apply();
    },
  };
}

export interface SubmitButton {
  readonly button: HTMLButtonElement;
  /** While busy the button is disabled and says "Working …", and its form is aria-busy. */
  setBusy(busy: boolean): void;
}

/** A button that sends a request; `submit` for a form's button, `button` for one outside a form. */
export function submitButton(
  texts: Localized,
  label: MessageKey,
  options: { readonly type?: "submit" | "button"; readonly class?: string } = {},
): SubmitButton {
  const button = element("button", { type: options.type ?? "submit", class: options.class ?? "primary" });
  let busy = false;
  texts.bind((t) => (button.textContent = t(busy ? "working" : label)));
  return {
    button,
    setBusy(value: boolean): void {
      busy = value;
      button.disabled = value;
      button.form?.setAttribute("aria-busy", String(value));
      texts.apply();
    },
  };
}

/** A form that the page validates and submits itself, with `submit` called on Enter or click. */
export function form(attributes: Readonly<Record<string, string>>, submit: () => void, ...children: Node[]): HTMLFormElement {
  const node = element("form", { ...attributes, novalidate: "" }, ...children);
  node.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  return node;
}
