//! The staff roles the server knows, in the order the client lists them, and their names in the
//! person's language. A role the client does not know (a newer server) is shown as the server
//! names it; it is never offered in a form. What a role allows is decided by the server's
//! policies, never here.

import type { Translate } from "./dom";
import type { MessageKey } from "./i18n";

/** Every role an administrator can give, most powerful first. */
export const roles = ["admin", "security_officer", "dpo", "supervisor", "adviser", "auditor"] as const;

export type RoleName = (typeof roles)[number];

const roleKeys: Readonly<Record<RoleName, MessageKey>> = {
  admin: "roleAdmin",
  security_officer: "roleSecurityOfficer",
  dpo: "roleDpo",
  supervisor: "roleSupervisor",
  adviser: "roleAdviser",
  auditor: "roleAuditor",
};

export function isRoleName(value: string): value is RoleName {
  return (roles as readonly string[]).includes(value);
}

/** The message key naming `role`. */
export function roleKey(role: RoleName): MessageKey {
  return roleKeys[role];
}

/** "Administratör, Rådgivare", or `none` if there are no roles. */
export function roleList(t: Translate, accountRoles: readonly string[], none: MessageKey = "noRoles"): string {
  if (accountRoles.length === 0) return t(none);
  return accountRoles.map((role) => (isRoleName(role) ? t(roleKeys[role]) : role)).join(", ");
}
