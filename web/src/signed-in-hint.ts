//! Whether this browser believes someone is signed in, and whether that someone administers
//! accounts or books meetings, so the header can offer "My account" instead of "Sign in" (and
//! "Administration", "Meetings") without asking the server on every page.
//!
//! The session cookie is HttpOnly, so the page cannot see it; asking `GET /api/v1/session` on
//! every load would answer 401 to everyone who is not signed in. This hint is only a guess for the
//! menu: it holds no token and grants nothing (the server checks every request, and answers 403
//! to anyone who opens `/admin` without the role). Pages that need the truth (the account and
//! administration pages, the sign-in page when the hint is set) ask the server and correct it.

import type { Account } from "./api";

/**
 * What the menu believes: nobody is signed in, someone is, and whether they are an
 * administrator, an adviser or both.
 */
export type SignedInHint = "signedOut" | "signedIn" | "administrator" | "adviser" | "administratorAdviser";

const storageKey = "trygg.signedIn";
// "1" is what earlier versions stored for "signed in"; it keeps meaning that.
const storedValues: Readonly<Record<Exclude<SignedInHint, "signedOut">, string>> = {
  signedIn: "1",
  administrator: "admin",
  adviser: "adviser",
  administratorAdviser: "admin+adviser",
};

/** The hint for what the server said: the signed-in account, or null for nobody. */
export function hintFor(account: Account | null): SignedInHint {
  if (account === null) return "signedOut";
  const admin = account.roles.includes("admin");
  const adviser = account.roles.includes("adviser");
  if (admin && adviser) return "administratorAdviser";
  if (admin) return "administrator";
  return adviser ? "adviser" : "signedIn";
}

/** Whether the menu offers "Administration". */
export function hintsAdministrator(hint: SignedInHint): boolean {
  return hint === "administrator" || hint === "administratorAdviser";
}

/** Whether the menu offers "Meetings". */
export function hintsAdviser(hint: SignedInHint): boolean {
  return hint === "adviser" || hint === "administratorAdviser";
}

export function readSignedInHint(): SignedInHint {
  try {
    const value = localStorage.getItem(storageKey);
    for (const [hint, stored] of Object.entries(storedValues)) {
      if (value === stored) return hint as SignedInHint;
    }
    return "signedOut";
  } catch {
    return "signedOut";
  }
}

export function storeSignedInHint(hint: SignedInHint): void {
  try {
    if (hint === "signedOut") localStorage.removeItem(storageKey);
    else localStorage.setItem(storageKey, storedValues[hint]);
  } catch {
    // Without storage the menu only guesses "signed out" after a reload; the pages still work.
  }
}

/** Calls `changed` when another tab of the same site signs in or out. */
export function watchSignedInHint(changed: (hint: SignedInHint) => void): void {
  addEventListener("storage", (event) => {
    if (event.key === storageKey || event.key === null) changed(readSignedInHint());
  });
}
