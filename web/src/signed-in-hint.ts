//! Whether this browser believes someone is signed in, so the header can offer "My account"
//! instead of "Sign in" without asking the server on every page.
//!
//! The session cookie is HttpOnly, so the page cannot see it; asking `GET /api/v1/session` on
//! every load would answer 401 to everyone who is not signed in. This hint is only a guess for the
//! menu: it holds no token and grants nothing. Pages that need the truth (the account page, the
//! sign-in page when the hint is set) ask the server and correct the hint.

const storageKey = "trygg.signedIn";

export function readSignedInHint(): boolean {
  try {
    return localStorage.getItem(storageKey) === "1";
  } catch {
    return false;
  }
}

export function storeSignedInHint(signedIn: boolean): void {
  try {
    if (signedIn) localStorage.setItem(storageKey, "1");
    else localStorage.removeItem(storageKey);
  } catch {
    // Without storage the menu only guesses "signed out" after a reload; the pages still work.
  }
}

/** Calls `changed` when another tab of the same site signs in or out. */
export function watchSignedInHint(changed: (signedIn: boolean) => void): void {
  addEventListener("storage", (event) => {
    if (event.key === storageKey || event.key === null) changed(readSignedInHint());
  });
}
