//! Building DOM without parsing HTML, and keeping its text in the chosen language.
//!
//! Everything is made with createElement, textContent and setAttribute, so building pages needs no
//! Trusted Types policy (the server's CSP enforces Trusted Types and would throw on innerHTML; the
//! client's one policy, in `trusted-types.ts`, is for the SFrame worker's script only).
//! `Localized` remembers which text went where, so a change of language re-translates a page in
//! place without rebuilding it and without losing what the person typed. Nothing here makes
//! requests or holds page state.

import { translate, type Lang, type MessageKey } from "./i18n";

export type Params = Readonly<Record<string, string>>;

/** A piece of text to show: a key and its parameters, translated when it is shown. */
export interface Message {
  readonly key: MessageKey;
  readonly params?: Params;
}

export type Translate = (key: MessageKey, params?: Params) => string;

/** createElement with attributes and children; children given as strings become text nodes. */
export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Readonly<Record<string, string>> = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/**
 * Text bindings of one part of a page. Each binding runs at once in the current language and
 * again on every `apply`. A part that is replaced (a page's next step) gets a new `Localized`, so
 * bindings of elements that are gone do not pile up.
 */
export class Localized {
  readonly #bindings: Array<(t: Translate, lang: Lang) => void> = [];
  #lang: Lang;

  constructor(lang: Lang) {
    this.#lang = lang;
  }

  /** Keeps `node.textContent` translated. */
  text<E extends Element>(node: E, key: MessageKey, params?: Params): E {
    this.bind((t) => (node.textContent = t(key, params)));
    return node;
  }

  /** Keeps the attribute `name` of `node` translated (aria-label, alt, data-label, ...). */
  attribute<E extends Element>(node: E, name: string, key: MessageKey, params?: Params): E {
    this.bind((t) => node.setAttribute(name, t(key, params)));
    return node;
  }

  /** Any other text that depends on the language or on page state; runs now and on every apply. */
  bind(update: (t: Translate, lang: Lang) => void): void {
    this.#bindings.push(update);
    update(this.#translator(), this.#lang);
  }

  /** Re-runs every binding, in `lang` if given, else in the language last applied. */
  apply(lang: Lang = this.#lang): void {
    this.#lang = lang;
    const t = this.#translator();
    for (const update of this.#bindings) update(t, lang);
  }

  get lang(): Lang {
    return this.#lang;
  }

  #translator(): Translate {
    const lang = this.#lang;
    return (key, params) => translate(lang, key, params);
  }
}
