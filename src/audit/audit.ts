// One structured log event per sign-in decision (with its rule trace) and per session end.
// Claims are reduced to what explains the decision; secrets never appear.
import type { Decision, Logger } from '../types.js';

const SECRET_KEYS = /pass(word)?|secret|token|assertion|authorization|cookie|credential/i;

/** Deep copy with secret-looking keys replaced, for anything that goes to a log. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[…]';
  if (Array.isArray(value)) return value.slice(0, 200).map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.test(k) ? '[redacted]' : redact(v, depth + 1);
    return out;
  }
  return value;
}

export function auditDecision(
  logger: Logger,
  event: 'sign_in' | 'refresh' | 'policy_reload' | 'explain',
  d: Decision,
  extra: { clientIp?: string; sourceGroups?: string[] } = {},
): void {
  logger.info(
    {
      audit: event,
      source: d.sourceId,
      user: d.username,
      allowed: d.allowed,
      netboxGroups: d.groups,
      superuser: d.superuser,
      reason: d.reason,
      trace: d.trace.map((t) => ({ rule: t.rule, effect: t.effect, matched: t.matched })),
      sourceGroups: extra.sourceGroups?.slice(0, 100),
      clientIp: extra.clientIp,
    },
    `${event} ${d.allowed ? 'allowed' : 'denied'}: ${d.username}`,
  );
}
