// Per-mode defaults (header names, claim paths, group separators) and the one pure mapping from
// verified claims or trusted header values to an Identity, shared by identify() and explain.
import type { IncomingHttpHeaders } from 'node:http';
import { firstString, getPath, valueStrings } from '../../attributes.js';
import { GateError } from '../../errors.js';
import type { AttributeValue, Attributes, Identity } from '../../types.js';
import type { UpstreamMode, UpstreamSourceConfig } from './config.js';

export interface ResolvedMapping {
  mode: UpstreamMode;
  /** Header carrying the signed assertion (lower-case); undefined in headers mode. */
  assertionHeader?: string;
  /** Plain headers read in headers mode, and in authentik mode only as the unsigned fallback. */
  headers: { user: string; email: string; preferredUsername: string; groups: string; name: string };
  /** Undefined: a string groups value is one group (Pomerium claims are arrays). */
  groupSeparator?: string;
  claims: { username: string[]; email: string[]; name: string[]; groups: string[]; subject: string[] };
}

const MODE_DEFAULTS: Record<UpstreamMode, ResolvedMapping> = {
  pomerium: {
    mode: 'pomerium',
    assertionHeader: 'x-pomerium-jwt-assertion',
    headers: { user: '', email: '', preferredUsername: '', groups: '', name: '' },
    // Pomerium's `user` is the IdP's opaque user id; the email is what people recognise.
    claims: { username: ['email', 'user', 'sub'], email: ['email'], name: ['name'], groups: ['groups'], subject: ['sub', 'user'] },
  },
  authentik: {
    mode: 'authentik',
    assertionHeader: 'x-authentik-jwt',
    headers: {
      user: 'x-authentik-username',
      email: 'x-authentik-email',
      preferredUsername: 'x-authentik-username',
      groups: 'x-authentik-groups',
      name: 'x-authentik-name',
    },
    groupSeparator: '|',
    claims: { username: ['preferred_username', 'sub'], email: ['email'], name: ['name'], groups: ['groups'], subject: ['sub'] },
  },
  headers: {
    mode: 'headers',
    headers: {
      user: 'x-forwarded-user',
      email: 'x-forwarded-email',
      preferredUsername: 'x-forwarded-preferred-username',
      groups: 'x-forwarded-groups',
      name: 'x-forwarded-name',
    },
    // oauth2-proxy adds one header value per group and then joins them with "," (flattenHeaders).
    groupSeparator: ',',
    claims: { username: ['preferred_username', 'user', 'email'], email: ['email'], name: ['name'], groups: ['groups'], subject: ['user', 'email'] },
  },
};

export function resolveMapping(cfg: UpstreamSourceConfig): ResolvedMapping {
  const d = MODE_DEFAULTS[cfg.mode];
  const h = cfg.headers ?? {};
  const c = cfg.claims ?? {};
  const out: ResolvedMapping = {
    mode: cfg.mode,
    headers: {
      user: h.user ?? d.headers.user,
      email: h.email ?? d.headers.email,
      preferredUsername: h.preferredUsername ?? d.headers.preferredUsername,
      groups: h.groups ?? d.headers.groups,
      name: h.name ?? d.headers.name,
    },
    claims: {
      username: c.username ?? d.claims.username,
      email: c.email ?? d.claims.email,
      name: c.name ?? d.claims.name,
      groups: c.groups ?? d.claims.groups,
      subject: d.claims.subject,
    },
  };
  const header = cfg.jwt?.header ?? d.assertionHeader;
  if (header !== undefined) out.assertionHeader = header;
  const sep = cfg.groupSeparator ?? d.groupSeparator;
  if (sep !== undefined) out.groupSeparator = sep;
  return out;
}

/** Every instance of a header as node delivers it (duplicates of unknown headers arrive joined by ", "). */
function headerValues(headers: IncomingHttpHeaders, name: string): string[] {
  if (!name) return [];
  const v = headers[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((s) => s !== '');
}

/**
 * The attributes a plain-header request carries, keyed like OIDC claims so claim paths and the
 * policy read the same names in every mode. Group values stay as sent: identityFromAttributes splits.
 */
export function attributesFromHeaders(m: ResolvedMapping, headers: IncomingHttpHeaders): Attributes | undefined {
  const attrs: Attributes = {};
  const one = (key: string, header: string): void => {
    const v = headerValues(headers, header)[0];
    if (v !== undefined) attrs[key] = v;
  };
  if (m.mode === 'headers') one('user', m.headers.user);
  one('preferred_username', m.headers.preferredUsername);
  one('email', m.headers.email);
  one('name', m.headers.name);
  if (attrs.user === undefined && attrs.preferred_username === undefined && attrs.email === undefined) return undefined;
  const groups = headerValues(headers, m.headers.groups);
  // headers mode keeps one element per header instance (identityFromAttributes splits each);
  // authentik's fallback is split here, so its attributes look like its JWT's groups array.
  if (groups.length > 0) attrs.groups = m.mode === 'headers' ? groups : splitGroups(groups.join(m.groupSeparator ?? ','), m);
  return attrs;
}

function splitGroups(value: AttributeValue | undefined, m: ResolvedMapping): string[] {
  // In headers mode every element is one header instance and may itself be joined; in JWT
  // modes an array claim holds one group per element and only a joined string is split.
  const splitAll = m.mode === 'headers';
  const parts: string[] = [];
  const add = (s: string, split: boolean): void => {
    const pieces = split && m.groupSeparator !== undefined ? s.split(m.groupSeparator) : [s];
    for (const p of pieces) {
      const t = p.trim();
      if (t !== '') parts.push(t);
    }
  };
  if (typeof value === 'string') add(value, true);
  else if (Array.isArray(value)) for (const v of valueStrings(value)) add(v, splitAll);
  else for (const v of valueStrings(value)) add(v, false);
  return parts;
}

function first(attrs: Attributes, paths: string[]): string | undefined {
  for (const p of paths) {
    const v = firstString(getPath(attrs, p));
    if (v !== undefined) return v;
  }
  return undefined;
}

export function identityFromAttributes(sourceId: string, m: ResolvedMapping, attrs: Attributes): Identity {
  const username = first(attrs, m.claims.username);
  if (!username) {
    throw new GateError(
      'ERR_SOURCE_CONFIG',
      `the proxy's assertion has none of ${m.claims.username.map((p) => `"${p}"`).join(', ')} for the user name; set claims.username on source "${sourceId}"`,
      { detail: { source: sourceId, claim: m.claims.username.join(',') } },
    );
  }
  const groups = new Set<string>();
  for (const path of m.claims.groups) for (const g of splitGroups(getPath(attrs, path), m)) groups.add(g);
  const id: Identity = {
    sourceId,
    sourceKind: 'upstream',
    subject: first(attrs, m.claims.subject) ?? username,
    username,
    groups: [...groups],
    attributes: attrs,
  };
  const email = first(attrs, m.claims.email);
  if (email) id.email = email;
  const given = firstString(attrs.given_name);
  const family = firstString(attrs.family_name);
  const name = first(attrs, m.claims.name);
  if (given || family) {
    if (given) id.firstName = given;
    if (family) id.lastName = family;
  } else if (name) {
    // Only a full name is sent: the first word is the given name, the rest the family name.
    const sp = name.trim().indexOf(' ');
    if (sp < 0) id.firstName = name.trim();
    else {
      id.firstName = name.trim().slice(0, sp);
      id.lastName = name.trim().slice(sp + 1).trim();
    }
  }
  return id;
}
