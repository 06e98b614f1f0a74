//! The contract between the shell and the pages: what a page hands the shell, what the shell
//! offers every page, and the two pieces every page has (its heading and links to other pages).
//!
//! A page builds its DOM once per state and keeps its own state; it never touches the shell's
//! header or footer. The shell owns the language, the address bar and the signed-in guess.

import type { Account } from "./api";
import { Localized, element } from "./dom";
import type { Lang, MessageKey } from "./i18n";
import { isPlainClick, type AppPath } from "./router";

export interface Page {
  /** The page's content, placed inside <main>. */
  readonly root: HTMLElement;
  /** The page's name for the document title; null for the plain title (the welcome page). */
  readonly title: MessageKey | null;
  /** Shows the page in `lang`; called on every change of language. */
  render(lang: Lang): void;
  /** Moves keyboard focus to the page's heading, so a screen reader announces the new page. */
  focus(): void;
  /** The page is leaving: answers that arrive later must change nothing. */
  dispose(): void;
}

export interface PageContext {
  /** The language the page is first built in. */
  lang(): Lang;
  /** The shell's guess whether someone is signed in (see signed-in-hint.ts). */
  signedIn(): boolean;
  /** Shows another page; `replace` keeps the current one out of the history (redirects). */
  navigate(path: AppPath, options?: { readonly replace?: boolean }): void;
  /** Tells the shell what the server said about the session, for the menu: who is signed in, or null. */
  setSignedIn(account: Account | null): void;
}

/** A page's h1. It can take focus from script (tabindex -1) but is not a Tab stop. */
export function pageHeading(texts: Localized, key: MessageKey): HTMLHeadingElement {
  return texts.text(element("h1", { tabindex: "-1" }), key);
}

/** A link to another page that changes the page without reloading, and still works as a link. */
export function pageLink(
  context: PageContext,
  texts: Localized,
  path: AppPath,
  key: MessageKey,
  attributes: Readonly<Record<string, string>> = {},
): HTMLAnchorElement {
  const link = texts.text(element("a", { ...attributes, href: path }), key);
  link.addEventListener("click", (event) => {
    if (!isPlainClick(event)) return;
    event.preventDefault();
    context.navigate(path);
  });
  return link;
}
