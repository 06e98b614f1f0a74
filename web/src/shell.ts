//! The page layout every screen shares: skip link, header with menu and language switch, main,
//! footer. The current page's content goes into main.
//!
//! The DOM is built once with createElement and later only updated through textContent and
//! attributes, so the page needs no Trusted Types policy and never parses HTML from a string
//! (the server's CSP enforces Trusted Types and would throw on innerHTML). It holds no state and
//! makes no requests: `main.ts` owns the state and hands each new view to `render`.

import type { ServerInfo } from "./api";
import { element } from "./dom";
import { endonyms, languages, translate, type Lang, type MessageKey } from "./i18n";
import type { Page } from "./page";
import { isPlainClick, paths, type AppPath, type Route } from "./router";
import { hintsAdministrator, hintsAdviser, type SignedInHint } from "./signed-in-hint";

/** Where the server information stands. */
export type InfoState =
  | { readonly kind: "loading" }
  | { readonly kind: "ready"; readonly info: ServerInfo }
  | { readonly kind: "failed" };

/** Everything the shell shows, as a value. */
export interface ShellView {
  readonly lang: Lang;
  readonly info: InfoState;
  readonly route: Route;
  /**
   * Whether the menu offers "My account" rather than "Sign in", and "Administration" (for an
   * administrator) and "Meetings" (for an adviser) as well.
   */
  readonly signedIn: SignedInHint;
  readonly page: Page;
}

export interface Shell {
  render(view: ShellView): void;
}

export interface ShellActions {
  chooseLang(lang: Lang): void;
  reload(): void;
  /** A plain click on a menu link: show that page without reloading. */
  navigate(path: AppPath): void;
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

  const menuLink = (path: AppPath) => {
    const link = element("a", { href: path });
    link.addEventListener("click", (event) => {
      if (!isPlainClick(event)) return;
      event.preventDefault();
      actions.navigate(link.getAttribute("href") as AppPath);
    });
    return link;
  };
  const homeLink = text(menuLink(paths.welcome), "home");
  // Only for administrators; the server refuses everyone else anyway.
  const adminLink = text(menuLink(paths.admin), "administration");
  const adminItem = element("li", { hidden: "" }, adminLink);
  // Only for advisers: their meetings dashboard.
  const meetingsLink = text(menuLink(paths.meetings), "meetings");
  const meetingsItem = element("li", { hidden: "" }, meetingsLink);
  // "Sign in" or "My account", depending on whether someone seems to be signed in.
  const accountLink = menuLink(paths.signIn);
  const nav = element(
    "nav",
    { class: "site-nav" },
    element("ul", {}, element("li", {}, homeLink), meetingsItem, adminItem, element("li", {}, accountLink)),
  );

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

  const content = element("div", { class: "container" });
  // tabindex -1 lets the skip link move keyboard focus here, not just scroll.
  const main = element("main", { id: "main", tabindex: "-1" }, content);

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
    render({ lang, info, route, signedIn, page }: ShellView): void {
      const t = (key: MessageKey, params?: Readonly<Record<string, string>>) => translate(lang, key, params);

      document.documentElement.lang = lang;
      document.title = page.title === null ? t("documentTitle") : t("pageTitle", { page: t(page.title) });
      for (const [node, key] of texts) node.textContent = t(key);
      const someone = signedIn !== "signedOut";
      accountLink.setAttribute("href", someone ? paths.account : paths.signIn);
      accountLink.textContent = t(someone ? "myAccount" : "signIn");
      adminItem.hidden = !hintsAdministrator(signedIn);
      meetingsItem.hidden = !hintsAdviser(signedIn);
      const currentPath = route === "notFound" ? null : paths[route];
      for (const link of [homeLink, meetingsLink, adminLink, accountLink]) {
        if (link.getAttribute("href") === currentPath) link.setAttribute("aria-current", "page");
        else link.removeAttribute("aria-current");
      }
      if (content.firstChild !== page.root) content.replaceChildren(page.root);
      page.render(lang);
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
