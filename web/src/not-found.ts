//! The page for a path the client does not know (the server answers every such path with the
//! client, so the client has to say that nothing is there).

import { element, Localized } from "./dom";
import type { Lang } from "./i18n";
import { pageHeading, pageLink, type Page, type PageContext } from "./page";
import { paths } from "./router";

export function notFoundPage(context: PageContext): Page {
  const texts = new Localized(context.lang());
  const heading = pageHeading(texts, "notFoundTitle");
  const root = element(
    "div",
    { class: "page" },
    heading,
    texts.text(element("p", { class: "lead" }), "notFoundText"),
    element("p", {}, pageLink(context, texts, paths.welcome, "toHome")),
  );
  return {
    root,
    title: "notFoundTitle",
    render: (lang: Lang) => texts.apply(lang),
    focus: () => heading.focus(),
    dispose: () => {},
  };
}
