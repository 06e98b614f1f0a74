//! The user-facing text of the client in Swedish and English, and the choice between them.
//!
//! Both dictionaries must have exactly the same keys: `en` is typed from `sv`, so a missing or an
//! extra key is a compile error, not a blank label at run time. This module does not touch the
//! DOM; the shell applies the text.

/** The languages the client speaks. Swedish is the house language. */
export type Lang = "sv" | "en";

export const languages: readonly Lang[] = ["sv", "en"];

/** The name of each language in itself, for the language switch (never translated). */
export const endonyms: Readonly<Record<Lang, string>> = { sv: "Svenska", en: "English" };

const sv = {
  documentTitle: "Trygg – säkra digitala kundmöten",
  skipToContent: "Hoppa till huvudinnehållet",
  tagline: "Säkra digitala kundmöten",
  mainMenu: "Huvudmeny",
  home: "Start",
  language: "Språk",
  heading: "Välkommen till Trygg",
  welcome:
    "Här möter du din rådgivare i ett säkert digitalt möte. Har du fått en möteslänk? Öppna den, så kommer du direkt till mötet.",
  loading: "Hämtar uppgifter från servern …",
  loadFailed: "Det gick inte att nå servern. Kontrollera din anslutning och ladda om sidan.",
  reload: "Ladda om sidan",
  operatedBy: "Tillhandahålls av {organisation}",
  version: "{product} version {version}",
} as const satisfies Record<string, string>;

/** Every piece of text the client can show. */
export type MessageKey = keyof typeof sv;

type Dictionary = Readonly<Record<MessageKey, string>>;

const en: Dictionary = {
  documentTitle: "Trygg – secure digital customer meetings",
  skipToContent: "Skip to main content",
  tagline: "Secure digital customer meetings",
  mainMenu: "Main menu",
  home: "Home",
  language: "Language",
  heading: "Welcome to Trygg",
  welcome:
    "This is where you meet your adviser in a secure digital meeting. Have you received a meeting link? Open it to go straight to the meeting.",
  loading: "Loading details from the server …",
  loadFailed: "Could not reach the server. Check your connection and reload the page.",
  reload: "Reload page",
  operatedBy: "Provided by {organisation}",
  version: "{product} version {version}",
};

const dictionaries: Readonly<Record<Lang, Dictionary>> = { sv, en };

/**
 * The text for `key` in `lang`, with each `{name}` replaced by `params[name]`.
 * Parameters are inserted as plain text; the shell only ever assigns the result to textContent.
 */
export function translate(lang: Lang, key: MessageKey, params: Readonly<Record<string, string>> = {}): string {
  return dictionaries[lang][key].replace(/\{(\w+)\}/g, (placeholder, name: string) => params[name] ?? placeholder);
}

export function isLang(value: unknown): value is Lang {
  return typeof value === "string" && (languages as readonly string[]).includes(value);
}

const storageKey = "trygg.lang";

/**
 * The language to start in: the one the person chose before, else Swedish if any of the
 * browser's preferred languages is a Swedish one, else English.
 */
export function initialLang(): Lang {
  const stored = readStoredLang();
  if (stored !== null) return stored;
  const preferred = navigator.languages.length > 0 ? navigator.languages : [navigator.language];
  return preferred.some((tag) => tag.toLowerCase().startsWith("sv")) ? "sv" : "en";
}

/** Remembers the person's choice. Storage may be disabled or full; the choice then lasts this page. */
export function storeLang(lang: Lang): void {
  try {
    localStorage.setItem(storageKey, lang);
  } catch {
    // Not being able to remember a language is no reason to bother the person.
  }
}

function readStoredLang(): Lang | null {
  try {
    const value = localStorage.getItem(storageKey);
    return isLang(value) ? value : null;
  } catch {
    return null;
  }
}
