//! The welcome page at `/`: what Trygg is, for a customer who arrives without a meeting link.

import { element, Localized } from "./dom";
import type { Lang } from "./i18n";
import { pageHeading, type Page, type PageContext } from "./page";

export function welcomePage(context: PageContext): Page {
  const texts = new Localized(context.lang());
  const heading = pageHeading(texts, "heading");
  const root = element("div", { class: "page" }, heading, texts.text(element("p", { class: "lead" }), "welcome"));
  return {
    root,
    title: null,
    render: (lang: Lang) => texts.apply(lang),
    focus: () => heading.focus(),
    dispose: () => {},
  };
}
