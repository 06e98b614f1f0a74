//! Entry point of the browser client: owns the page's state and wires the shell to the API.
//!
//! State changes go through `update`, which hands the whole view to the shell; nothing else
//! writes to the DOM. It holds no secrets and stores nothing but the chosen language.

import { fetchServerInfo } from "./api";
import { initialLang, storeLang, type Lang } from "./i18n";
import { mountShell, type ShellView } from "./shell";

let view: ShellView = { lang: initialLang(), info: { kind: "loading" } };

const shell = mountShell(document.body, {
  chooseLang(lang: Lang) {
    storeLang(lang);
    update({ lang });
  },
  reload() {
    location.reload();
  },
});

function update(change: Partial<ShellView>): void {
  view = { ...view, ...change };
  shell.render(view);
}

update({});

fetchServerInfo().then(
  (info) => update({ info: { kind: "ready", info } }),
  (error: unknown) => {
    // The person sees a localized message; the cause is for whoever opens the console.
    console.error("Trygg: could not load server information", error);
    update({ info: { kind: "failed" } });
  },
);
