//! The parts every form of the client is made of: labelled fields with hints, groups of
//! checkboxes, one error region per form, and a submit button that shows when a request is on
//! its way.
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
  /** The button's two labels, if not "Show password" / "Hide password". */
  readonly revealLabels?: { readonly show: MessageKey; readonly hide: MessageKey };
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
    const labels = options.revealLabels ?? { show: "showPassword", hide: "hidePassword" };
    texts.bind((t) => (toggle.textContent = t(input.type === "password" ? labels.show : labels.hide)));
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

export interface CheckboxGroup {
  /** The legend, hint and boxes, to be placed in a form. */
  readonly fieldset: HTMLFieldSetElement;
  /** The first box, where focus goes when the group is what needs fixing. */
  readonly first: HTMLInputElement;
  /** The values of the ticked boxes, in the order of the choices. */
  checked(): string[];
  setChecked(values: readonly string[]): void;
  /** Marks every box invalid and points the group at the error with `errorId`, or clears both. */
  setInvalid(errorId: string | null): void;
}

export interface CheckboxGroupOptions {
  /** The fieldset's id; each box's id is `<id>-<value>`, the hint's `<id>-hint`. */
  readonly id: string;
  readonly legend: Message;
  readonly hint?: Message;
  /** The input's name, shared by the boxes. */
  readonly name: string;
  readonly choices: ReadonlyArray<{ readonly value: string; readonly label: MessageKey }>;
  readonly checked?: readonly string[];
}

/** A fieldset of checkboxes with a legend and a hint, such as "Roles: choose at least one". */
export function checkboxGroup(texts: Localized, options: CheckboxGroupOptions): CheckboxGroup {
  const legend = texts.text(element("legend"), options.legend.key, options.legend.params);
  const fieldset = element("fieldset", { class: "choices", id: options.id }, legend);
  const describedBy: string[] = [];
  if (options.hint) {
    const hintId = `${options.id}-hint`;
    fieldset.append(texts.text(element("p", { class: "hint", id: hintId }), options.hint.key, options.hint.params));
    describedBy.push(hintId);
  }
  if (describedBy.length > 0) fieldset.setAttribute("aria-describedby", describedBy.join(" "));
  const initial = new Set(options.checked ?? []);
  const boxes = options.choices.map(({ value, label }) => {
    const boxId = `${options.id}-${value}`;
    const box = element("input", { type: "checkbox", id: boxId, name: options.name, value });
    box.checked = initial.has(value);
    fieldset.append(
      element("div", { class: "checkbox" }, box, texts.text(element("label", { for: boxId }), label)),
    );
    return box;
  });
  const first = boxes[0];
  // Every group this client builds has choices; an empty one is a programming error.
  if (first === undefined) throw new Error(`checkbox group ${options.id} has no choices`);
  return {
    fieldset,
    first,
    checked: () => boxes.filter((box) => box.checked).map((box) => box.value),
    setChecked(values: readonly string[]): void {
      for (const box of boxes) box.checked = values.includes(box.value);
    },
    setInvalid(errorId: string | null): void {
      for (const box of boxes) {
        if (errorId === null) box.removeAttribute("aria-invalid");
        else box.setAttribute("aria-invalid", "true");
      }
      const ids = errorId === null ? describedBy : [...describedBy, errorId];
      if (ids.length > 0) fieldset.setAttribute("aria-describedby", ids.join(" "));
      else fieldset.removeAttribute("aria-describedby");
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
