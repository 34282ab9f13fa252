// A user's groups: memberOf, a group search, nesting through AD's in-chain rule or a bounded,
// cycle-safe walk; then each group's name (cn by default) from its DN or its entry.
import type { Logger } from '../../types.js';
import type { ResolvedLdapConfig } from './config.js';
import { LdapOpError, RESULT_NO_SUCH_OBJECT, type LdapSession } from './connection.js';
import { dnKey, fillFilter, firstRdn } from './escape.js';

export interface ResolvedGroups {
  /** Group DNs in the order found (direct first), de-duplicated. */
  dns: string[];
  /** Group names per groups.nameAttribute, sorted and de-duplicated. */
  names: string[];
}

interface Ctx {
  session: LdapSession;
  cfg: ResolvedLdapConfig;
  logger: Logger;
  username: string;
}

/** Group DNs found by one group search for `memberDn`, with the name attribute when present. */
async function searchGroups(c: Ctx, memberDn: string, names: Map<string, string>): Promise<string[]> {
  const s = c.cfg.groups.search!;
  const nameAttr = c.cfg.groups.nameAttribute;
  const entries = await c.session.search(s.base, {
    scope: s.scope,
    filter: fillFilter(s.filter, { dn: memberDn, username: c.username }),
    attributes: nameAttr.toLowerCase() === 'dn' ? ['1.1'] : [nameAttr],
    sizeLimit: c.cfg.groups.maxGroups + 1,
  });
  for (const e of entries) {
    const n = e.attrs[nameAttr.toLowerCase()]?.[0];
    if (n) names.set(dnKey(e.dn), n);
  }
  return entries.map((e) => e.dn);
}

/** A group's own memberOf (for the recursive walk without a group search); [] when unreadable. */
async function groupMemberOf(c: Ctx, groupDn: string, names: Map<string, string>): Promise<string[]> {
  const nameAttr = c.cfg.groups.nameAttribute;
  try {
    const [e] = await c.session.search(groupDn, {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: nameAttr.toLowerCase() === 'dn' ? ['memberOf'] : ['memberOf', nameAttr],
      sizeLimit: 1,
    });
    if (!e) return [];
    const n = e.attrs[nameAttr.toLowerCase()]?.[0];
    if (n) names.set(dnKey(e.dn), n);
    return e.attrs['memberof'] ?? [];
  } catch (err) {
    if (err instanceof LdapOpError && err.resultCode === RESULT_NO_SUCH_OBJECT) return [];
    throw err;
  }
}

async function nameOf(c: Ctx, dn: string, names: Map<string, string>): Promise<string> {
  const nameAttr = c.cfg.groups.nameAttribute;
  if (nameAttr.toLowerCase() === 'dn') return dn;
  const known = names.get(dnKey(dn));
  if (known) return known;
  // Usually the name is the RDN (cn=netbox-admins,...): no lookup needed.
  const rdn = firstRdn(dn);
  if (rdn && rdn.type.toLowerCase() === nameAttr.toLowerCase()) return rdn.value;
  try {
    const [e] = await c.session.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: [nameAttr], sizeLimit: 1 });
    const n = e?.attrs[nameAttr.toLowerCase()]?.[0];
    if (n) return n;
  } catch (err) {
    if (!(err instanceof LdapOpError) || err.down) throw err;
  }
  c.logger.debug({ group: dn, nameAttribute: nameAttr }, 'LDAP group has no readable name attribute; using its DN');
  return dn;
}

export async function resolveGroups(
  session: LdapSession,
  cfg: ResolvedLdapConfig,
  user: { dn: string; username: string; memberOf: string[] },
  logger: Logger,
): Promise<ResolvedGroups> {
  const c: Ctx = { session, cfg, logger, username: user.username };
  const g = cfg.groups;
  const names = new Map<string, string>();
  const found = new Map<string, string>(); // dnKey -> DN as first seen
  let truncated = false;
  const add = (dns: string[]): string[] => {
    const fresh: string[] = [];
    for (const dn of dns) {
      const k = dnKey(dn);
      if (found.has(k)) continue;
      if (found.size >= g.maxGroups) {
        truncated = true;
        break;
      }
      found.set(k, dn);
      fresh.push(dn);
    }
    return fresh;
  };

  if (g.memberOf) add(user.memberOf);
  // With in-chain, this one search already returns every group at any depth (AD evaluates it).
  if (g.search) add(await searchGroups(c, user.dn, names));

  if (g.nested === 'recursive') {
    // Breadth-first over parents; `found` doubles as the visited set, so cycles end here.
    let frontier = [...found.values()];
    for (let depth = 1; depth < g.maxDepth && frontier.length > 0 && !truncated; depth++) {
      const next: string[] = [];
      for (const dn of frontier) {
        const parents = g.search ? await searchGroups(c, dn, names) : await groupMemberOf(c, dn, names);
        next.push(...add(parents));
        if (truncated) break;
      }
      frontier = next;
      if (depth + 1 >= g.maxDepth && frontier.length > 0) {
        logger.warn({ user: user.dn, maxDepth: g.maxDepth }, 'LDAP group nesting deeper than groups.maxDepth; deeper groups ignored');
      }
    }
  }
  if (truncated) logger.warn({ user: user.dn, maxGroups: g.maxGroups }, 'LDAP user is in more groups than groups.maxGroups; the rest are ignored');

  const dns = [...found.values()];
  const resolved: string[] = [];
  for (const dn of dns) resolved.push(await nameOf(c, dn, names));
  return { dns, names: [...new Set(resolved)].sort() };
}
