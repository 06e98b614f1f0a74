//! The page layout every screen shares: skip link, header with language switch, main, footer.
//!
//! The DOM is built once with createElement and later only updated through textContent and
//! attributes, so the page needs no Trusted Types policy and never parses HTML from a string
//! (the server's CSP enforces Trusted Types and would throw on innerHTML). It holds no state and
//! makes no requests: `main.ts` owns the state and hands each new view to `render`.

import type { ServerInfo } from "./api";
import { endonyms, languages, translate, type Lang, type MessageKey } from "./i18n";

/** Where the server information stands. */
export type InfoState =
  | { readonly kind: "loading" }
  | { readonly kind: "ready"; readonly info: ServerInfo }
  | { readonly kind: "failed" };

/** Everything the shell shows, as a value. */
export interface ShellView {
  readonly lang: Lang;
  readonly info: InfoState;
}

export interface Shell {
  render(view: ShellView): void;
}

export interface ShellActions {
  chooseLang(lang: Lang): void;
  reload(): void;
}

/** Replaces the children of `body` with the shell and returns the handle that updates it. */
export function mountShell(body: HTMLElement, actions: ShellActions): Shell {
  // Elements whose text depends on the language, with the key of that text.
  const texts: Array<[HTMLElement, MessageKey]> = [];
  const text = <E extends HTMLElement>(element: E, key: MessageKey): E => {
    texts.push([element, key]);
    return element;
  };

  const skipLink = text(element("a", { class: "skip-link", href: "#main" }), "skipToContent");

  const brand = element(
    "p",
    { class: "brand" },
    element("span", { class: "brand-name" }, "Trygg"),
    text(element("span", { class: "brand-tagline" }), "tagline"),
  );

  const homeLink = text(element("a", { href: "/", "aria-current": "page" }), "home");
  const nav = element("nav", { class: "site-nav" }, element("ul", {}, element("li", {}, homeLink)));

  const langButtons = languages.map((lang) => {
    // Each language is named in itself and marked up as such, so a screen reader pronounces it right.
    const button = element("button", { type: "button", lang, "data-lang": lang }, endonyms[lang]);
    button.addEventListener("click", () => actions.chooseLang(lang));
    return [lang, button] as const;
  });
  const langSwitch = element(
    "div",
    { class: "lang-switch", role: "group" },
    ...langButtons.map(([, button]) => button),
  );

  const header = element(
    "header",
    { class: "site-header" },
    element("div", { class: "container header-inner" }, brand, nav, langSwitch),
  );

  const heading = text(element("h1"), "heading");
  const welcome = text(element("p", { class: "lead" }), "welcome");
  // tabindex -1 lets the skip link move keyboard focus here, not just scroll.
  const main = element("main", { id: "main", tabindex: "-1" }, element("div", { class: "container" }, heading, welcome));

  // The live region exists from the start and only its text changes, so screen readers announce it.
  const status = element("p", { class: "status", role: "status", "aria-live": "polite" });
  const reloadButton = text(element("button", { type: "button", class: "reload", hidden: "" }), "reload");
  reloadButton.addEventListener("click", () => actions.reload());
  const about = element("p", { class: "about", hidden: "" });
  const footer = element(
    "footer",
    { class: "site-footer" },
    element("div", { class: "container" }, status, reloadButton, about),
  );

  body.replaceChildren(skipLink, header, main, footer);

  return {
    render({ lang, info }: ShellView): void {
      const t = (key: MessageKey, params?: Readonly<Record<string, string>>) => translate(lang, key, params);

      document.documentElement.lang = lang;
      document.title = t("documentTitle");
      for (const [node, key] of texts) node.textContent = t(key);
      nav.setAttribute("aria-label", t("mainMenu"));
      langSwitch.setAttribute("aria-label", t("language"));
      for (const [buttonLang, button] of langButtons) {
        button.setAttribute("aria-pressed", String(buttonLang === lang));
      }

      status.classList.toggle("status-error", info.kind === "failed");
      reloadButton.hidden = info.kind !== "failed";
      switch (info.kind) {
        case "loading":
          status.textContent = t("loading");
          about.hidden = true;
          break;
        case "failed":
          status.textContent = t("loadFailed");
          about.hidden = true;
          break;
        case "ready": {
          status.textContent = "";
          const parts = [t("version", { product: info.info.product, version: info.info.version })];
          if (info.info.organisation) parts.unshift(t("operatedBy", { organisation: info.info.organisation }));
          about.replaceChildren(
            ...parts.map((part) => element("span", { class: "about-part" }, part)),
          );
          about.hidden = false;
          break;
        }
      }
    },
  };
}

/** createElement with attributes and children; children given as strings become text nodes. */
function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Readonly<Record<string, string>> = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}
