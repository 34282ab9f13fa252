// Shared value types: what a source delivers (Identity) and what the policy decides (Decision).
// No I/O and no run-time imports from the rest of the tree, so every layer can use them.

// The kind names are derived from the source registry. A type-only import is erased when
// compiled, so this adds no module cycle at run time.
import type { SourceKind } from './sources/registry.js';
export type { SourceKind };

/**
 * Who delivered an identity: a sign-in source kind, or `scim`, an identity-only kind pushed by a
 * provisioning client (src/scim/) that has no source definition and never signs anyone in.
 */
export type IdentityKind = SourceKind | 'scim';

/** A JSON-like attribute value as a source delivers it (claims, RADIUS attributes, AV pairs). */
export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };
export type Attributes = { [key: string]: AttributeValue };

/**
 * An authenticated person as one source sees them, before any policy.
 * `groups` is the source's raw list (claims, RADIUS Class/AVPair roles, TACACS+ roles, LDAP groups);
 * it never reaches NetBox directly: only groups the policy maps do.
 */
export interface Identity {
  sourceId: string;
  sourceKind: IdentityKind;
  /** Stable id at the source (OIDC `sub`, LDAP DN, or the user name for AAA). */
  subject: string;
  username: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  groups: string[];
  /** Everything else the policy may match on (claims, attributes, AV pairs). Never secrets. */
  attributes: Attributes;
}

export type RuleEffect = 'allow' | 'deny' | 'grant';

export interface TraceEntry {
  rule: string;
  effect: RuleEffect;
  /** Human-readable reasons this rule matched, e.g. `group "developer" = "developer"`. */
  matched: string[];
  groups: string[];
  superuser: boolean;
  staff: boolean;
}

/**
 * Why a sign-in is refused. The policy gives the first three; `unsafe_username` is the gateway's
 * own refusal of a name that an HTTP header cannot carry to NetBox intact;
 * `deactivated_at_source`: the policy allows the user, but the identity provider deactivated the
 * account through SCIM (the gateway refuses the sign-in rather than reactivate the NetBox user).
 */
export type DenyReason = 'denied_by_rule' | 'no_allow_rule' | 'no_username' | 'unsafe_username' | 'deactivated_at_source';

export interface Decision {
  allowed: boolean;
  sourceId: string;
  username: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  /** Sorted, de-duplicated NetBox group names. Empty when not allowed. */
  groups: string[];
  superuser: boolean;
  /** Only meaningful for NetBox < 4.5, which still had is_staff. */
  staff: boolean;
  trace: TraceEntry[];
  reasonCode?: DenyReason;
  reason?: string;
}

/** The slice of pino's logger the code uses, so tests can pass a recorder. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: object): Logger;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
