//! Entry point of the browser client: owns the page's state, picks the page for the path, and
//! wires the shell to the API.
//!
//! State changes go through `update`, which hands the whole view to the shell; the shell and the
//! current page are the only code that writes to the DOM. It holds no secrets and stores nothing
//! but the chosen language and whether someone (an administrator?) seems to be signed in (see
//! signed-in-hint.ts).

import { accountPage } from "./account";
import { adminPage } from "./admin";
import { dashboardPage } from "./dashboard";
import { fetchServerInfo, fetchSession } from "./api";
import { enrolPage } from "./enrol";
import { isSignedOut, logIfUnexpected } from "./errors";
import { initialLang, storeLang, type Lang } from "./i18n";
import { joinPage } from "./join";
import { notFoundPage } from "./not-found";
import type { Page, PageContext } from "./page";
import { roomPage } from "./room";
import { routeOf, showPath, watchHistory, type AppPath, type Route } from "./router";
import { mountShell, type ShellView } from "./shell";
import { hintFor, readSignedInHint, storeSignedInHint, watchSignedInHint } from "./signed-in-hint";
import { signInPage } from "./sign-in";
import { welcomePage } from "./welcome";

/** Pages that ask the server who is signed in as soon as they open. */
const pagesThatAsk: readonly Route[] = ["account", "admin", "meetings", "signIn"];

const pages: Readonly<Record<Route, (context: PageContext) => Page>> = {
  welcome: welcomePage,
  signIn: signInPage,
  enrol: enrolPage,
  account: accountPage,
  admin: adminPage,
  join: joinPage,
  room: roomPage,
  meetings: dashboardPage,
  notFound: notFoundPage,
};

const context: PageContext = {
  lang: () => view.lang,
  signedIn: () => view.signedIn !== "signedOut",
  navigate(path: AppPath, options = {}) {
    showPath(path, options.replace ?? false);
    show(location.pathname, true);
  },
  setSignedIn(account) {
    const signedIn = hintFor(account);
    storeSignedInHint(signedIn);
    if (signedIn !== view.signedIn) update({ signedIn });
  },
};

const shell = mountShell(document.body, {
  chooseLang(lang: Lang) {
    storeLang(lang);
    update({ lang });
  },
  reload() {
    location.reload();
  },
  navigate(path: AppPath) {
    context.navigate(path);
  },
});

// The first page is built before anything else runs: the enrolment page must take its token out
// of the address bar at once.
const firstRoute = routeOf(location.pathname);
let shownPathname = location.pathname;
let view: ShellView = {
  lang: initialLang(),
  info: { kind: "loading" },
  route: firstRoute,
  signedIn: readSignedInHint(),
  page: placeholderPage(),
};
view = { ...view, page: pages[firstRoute](context) };
update({});

watchHistory((pathname) => {
  if (pathname !== shownPathname || isNewEnrolmentToken()) show(pathname, true);
});
watchSignedInHint((signedIn) => update({ signedIn }));

fetchServerInfo().then(
  (info) => update({ info: { kind: "ready", info } }),
  (error: unknown) => {
    // The person sees a localized message; the cause is for whoever opens the console.
    console.error("Trygg: could not load server information", error);
    update({ info: { kind: "failed" } });
  },
);

// The menu trusts the stored guess only as far as the server agrees. Pages that ask anyway (the
// account, administration and sign-in pages) correct it themselves; asking only when the guess is
// "signed in" keeps visitors who never signed in free of 401 answers.
if (view.signedIn !== "signedOut" && !pagesThatAsk.includes(firstRoute)) {
  fetchSession().then(
    (info) => context.setSignedIn(info.account),
    (error: unknown) => {
      if (isSignedOut(error)) context.setSignedIn(null);
      else logIfUnexpected("could not check the session", error);
    },
  );
}

function update(change: Partial<ShellView>): void {
  view = { ...view, ...change };
  shell.render(view);
}

/** Replaces the current page with the one for `pathname`; `focus` after a move inside the app. */
function show(pathname: string, focus: boolean): void {
  shownPathname = pathname;
  view.page.dispose();
  const route = routeOf(pathname);
  update({ route, page: pages[route](context) });
  if (focus) view.page.focus();
}

/**
 * Whether the fragment just changed to an enrolment token while the enrolment page is shown:
 * pasting a link into the address bar of an open /enrol page changes only the fragment, and
 * must open that link. A fragment that names an element (the skip link's #main) is no token.
 */
function isNewEnrolmentToken(): boolean {
  const fragment = location.hash.slice(1);
  return view.route === "enrol" && fragment !== "" && document.getElementById(fragment) === null;
}

/** Stands in for the first page while that page is being built (its constructor reads `view`). */
function placeholderPage(): Page {
  return { root: document.createElement("div"), title: null, render() {}, focus() {}, dispose() {} };
}
