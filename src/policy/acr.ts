// The `acr` condition: the authentication context class the identity provider reports (the
// OIDC `acr` claim) is at least a given level, in an order the policy states. Pure.
import { firstString, getPath } from '../attributes.js';
import type { ConfigIssue } from '../errors.js';
import type { Identity } from '../types.js';
import type { AcrConditionInput } from './schema.js';

export interface CompiledAcr {
  atLeast: string;
  /** Level -> rank, weakest first. */
  rank: ReadonlyMap<string, number>;
}

/**
 * acr values are provider-defined strings (`mfa`, `urn:…:phr`, Keycloak's `1`/`2`, `gold`) with
 * no order of their own, so the policy gives one: `order` on the rule, or the policy's
 * `acrOrder`. A level the order does not list never satisfies a rule (fail closed).
 */
export function compileAcr(cond: AcrConditionInput, policyOrder: string[] | undefined, path: string): { acr?: CompiledAcr; issues: ConfigIssue[] } {
  const order = cond.order ?? policyOrder;
  if (!order) {
    return { issues: [{ path: `${path}.order`, message: 'acr levels have no order of their own: give order (weakest first) here, or policy.acrOrder' }] };
  }
  const issues: ConfigIssue[] = cond.order ? acrOrderIssues(cond.order, `${path}.order`) : [];
  const rank = new Map<string, number>();
  order.forEach((level, i) => {
    if (!rank.has(level)) rank.set(level, i);
  });
  if (!rank.has(cond.atLeast)) {
    issues.push({ path: `${path}.atLeast`, message: `"${cond.atLeast}" is not one of the acr levels (${order.join(', ')})` });
  }
  return issues.length > 0 ? { issues } : { acr: { atLeast: cond.atLeast, rank }, issues };
}

/** A level listed twice would make the order ambiguous. */
export function acrOrderIssues(order: string[], path: string): ConfigIssue[] {
  return order.flatMap((level, i) => (order.indexOf(level) < i ? [{ path: `${path}.${i}`, message: `acr level "${level}" is listed twice` }] : []));
}

/** The trace reason when the identity's acr is at least the level; undefined otherwise. */
export function matchAcr(c: CompiledAcr, id: Identity): string | undefined {
  const acr = firstString(getPath(id.attributes, 'acr'));
  if (acr === undefined) return undefined;
  const have = c.rank.get(acr);
  if (have === undefined || have < c.rank.get(c.atLeast)!) return undefined;
  return acr === c.atLeast ? `acr "${acr}" is the required level` : `acr "${acr}" is above "${c.atLeast}"`;
}
