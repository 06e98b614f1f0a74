//! Which page a path shows, and moving between pages with the History API.
//!
//! The server answers every path without a file extension with index.html, so each of these
//! paths also works when typed, bookmarked or reloaded. This module only maps paths and changes
//! the address bar; `main.ts` decides what to show.

/** The client's own pages. */
export type Route = "welcome" | "signIn" | "enrol" | "account" | "admin" | "meetings" | "join" | "room" | "notFound";

/** The path of every page that can be linked to. */
export const paths = {
  welcome: "/",
  signIn: "/sign-in",
  enrol: "/enrol",
  account: "/account",
  admin: "/admin",
  meetings: "/meetings",
  // The pages of one meeting; their real paths carry its id (see `joinPath` and `roomPath`).
  join: "/m",
  room: "/meetings/room",
} as const satisfies Readonly<Record<Exclude<Route, "notFound">, string>>;

/** A customer's link to a meeting. */
export type JoinPath = `/m/${string}`;
/** The meeting room of a member of staff. */
export type RoomPath = `/meetings/${string}/room`;

export type AppPath = (typeof paths)[keyof typeof paths] | JoinPath | RoomPath;

/** A meeting id: 32 lower-case hex digits (128 random bits). */
const meetingId = /^[0-9a-f]{32}$/;

export function joinPath(id: string): JoinPath {
  return `/m/${id}`;
}

export function roomPath(id: string): RoomPath {
  return `/meetings/${id}/room`;
}

/** The meeting id in a join or room path, or null. */
export function meetingIdOf(pathname: string): string | null {
  const match = /^\/(?:m\/([^/]+)|meetings\/([^/]+)\/room)\/?$/.exec(pathname);
  const id = match?.[1] ?? match?.[2] ?? null;
  return id !== null && meetingId.test(id) ? id : null;
}

/** The page for `pathname`; a trailing slash does not matter. */
export function routeOf(pathname: string): Route {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, "") : pathname;
  if (meetingIdOf(path) !== null) return path.startsWith("/m/") ? "join" : "room";
  if (path === paths.join || path === paths.room) return "notFound";
  for (const [route, routePath] of Object.entries(paths)) {
    if (routePath === path) return route as Route;
  }
  return "notFound";
}

/** Puts `path` in the address bar, as a new history entry or in place of the current one. */
export function showPath(path: AppPath, replace: boolean): void {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
}

/**
 * Calls `moved` with the new path after Back or Forward. Also called when only the fragment
 * changes (the skip link), so the caller compares with the path it shows.
 */
export function watchHistory(moved: (pathname: string) => void): void {
  addEventListener("popstate", () => moved(location.pathname));
}

/**
 * Whether a click on a link should be handled inside the app: a plain primary click, not one
 * that asks for a new tab or window (Ctrl, Cmd, Shift, middle button) or a download.
 */
export function isPlainClick(event: MouseEvent): boolean {
  return event.button === 0 && !event.ctrlKey && !event.metaKey && !event.shiftKey && !event.altKey && !event.defaultPrevented;
}
