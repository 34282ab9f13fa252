// Identity headers for NetBox, compiled from config once at start-up (oauth2-proxy's
// injector idea) so nothing on the hot path can fail on config. Client copies of every
// identity header variant are stripped on every request before anything is injected.
import type { GateConfig } from '../config/load.js';
import type { Decision } from '../types.js';
import { hasStaffFlag } from './version.js';

/** Django turns `X-A-B` and `X_A_B` into the same META key, so compare in this form. */
export function normalizeHeaderName(name: string): string {
  return name.toLowerCase().replace(/_/g, '-');
}

// NetBox's own defaults (netbox/netbox/settings.py: REMOTE_AUTH_HEADER etc.) and the identity
// headers of common proxies: a client must never be able to smuggle any of them to NetBox.
const ALWAYS_STRIPPED = [
  'remote-user',
  'remote-user-email',
  'remote-user-first-name',
  'remote-user-last-name',
  'remote-user-group',
  'remote-user-groups',
  'x-remote-user',
  'x-remote-user-email',
  'x-remote-user-first-name',
  'x-remote-user-last-name',
  'x-remote-user-groups',
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-groups',
  'x-forwarded-preferred-username',
  'x-forwarded-access-token',
  'x-auth-request-user',
  'x-auth-request-email',
  'x-auth-request-groups',
  'x-auth-request-preferred-username',
  'x-auth-request-access-token',
];
const STRIPPED_PREFIXES = ['x-pomerium-', 'x-authentik-'];

export interface HeaderPlan {
  /** True when a client-sent header with this name must not reach NetBox. */
  isIdentityHeader(name: string): boolean;
  /** Header lines to add for a signed-in user; values are safe for HTTP (no CR/LF, latin-1). */
  identityHeaders(d: Decision): Array<[string, string]>;
  /** The NetBox groups header value for a decision (for netbox-config and tests). */
  groupsValue(d: Decision): string;
}

/** Latin-1 is all an HTTP/1.1 header can carry to Django intact; anything else is dropped. */
export function headerSafe(value: string): string | undefined {
  if (/[\r\n\0]/.test(value)) return undefined;
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0xff) return undefined;
  return value;
}

export function compileHeaderPlan(cfg: Pick<GateConfig, 'netbox'>): HeaderPlan {
  const headersOf = new WeakMap<Decision, Array<[string, string]>>();
  const h = cfg.netbox.headers;
  const strip = new Set([...ALWAYS_STRIPPED, ...Object.values(h).map(normalizeHeaderName)]);
  const staffApplies = hasStaffFlag(cfg.netbox.version);
  const sep = cfg.netbox.groupSeparator;

  const groupsValue = (d: Decision): string => {
    const groups = [...d.groups];
    if (d.superuser) groups.push(cfg.netbox.superuserGroup);
    if (d.staff && staffApplies) groups.push(cfg.netbox.staffGroup);
    // The managed marker, always: NetBox's group sync then records in NetBox itself that this
    // user arrived through the gateway, the only users the REST client will ever change.
    groups.push(cfg.netbox.managedGroup);
    return groups.join(sep);
  };

  return {
    isIdentityHeader(name) {
      const n = normalizeHeaderName(name);
      return strip.has(n) || STRIPPED_PREFIXES.some((p) => n.startsWith(p));
    },
    groupsValue,
    identityHeaders(d) {
      // A frozen decision (a session as the store shares it) cannot change: its headers are
      // built once per plan and stored value, not per request.
      const frozen = Object.isFrozen(d);
      if (frozen) {
        const known = headersOf.get(d);
        if (known) return known;
      }
      const out = buildHeaders(d);
      if (frozen) headersOf.set(d, Object.freeze(out) as Array<[string, string]>);
      return out;
    },
  };
  function buildHeaders(d: Decision): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    const user = headerSafe(d.username);
    if (user === undefined) return out; // the gateway refuses such sign-ins before this point
    out.push([h.user, user]);
    const add = (name: string, v: string | undefined) => {
      const safe = v === undefined ? undefined : headerSafe(v);
      if (safe) out.push([name, safe]);
    };
    add(h.email, d.email);
    add(h.firstName, d.firstName);
    add(h.lastName, d.lastName);
    // Always sent (never empty: it holds the managed marker), so NetBox's group sync removes groups the user lost.
    out.push([h.groups, groupsValue(d)]);
    return out;
  }
}
