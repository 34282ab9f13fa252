// Clock skew against each identity provider, from the Date headers of its discovery and JWKS
// answers: tokens carry iat/exp, so a skewed clock rejects good tokens or accepts stale ones.
import type { DateObservation, DoctorContext } from './context.js';
import { fail, pass, warn, type CheckResult } from './report.js';

export const SKEW_WARN_MS = 30_000;
export const SKEW_FAIL_MS = 5 * 60_000;

/**
 * Pure: skew of one origin's clock from ours, judged on the observation with the shortest round
 * trip. Date has whole seconds, so the server's time lies in [Date, Date + 1 s): take the middle;
 * ours is the middle of the round trip.
 */
export function judgeSkew(origin: string, observations: readonly DateObservation[]): CheckResult | undefined {
  const usable = observations.filter((o) => o.origin === origin && !Number.isNaN(Date.parse(o.date)));
  if (usable.length === 0) return undefined;
  const best = usable.reduce((a, b) => (b.receivedAt - b.sentAt < a.receivedAt - a.sentAt ? b : a));
  const skew = Date.parse(best.date) + 500 - (best.sentAt + best.receivedAt) / 2;
  const slack = 500 + (best.receivedAt - best.sentAt) / 2;
  const abs = Math.max(0, Math.abs(skew) - slack);
  const seconds = Math.round(Math.abs(skew) / 1000);
  const how = seconds === 0 ? 'agrees with this host within a second' : `is ${seconds} s ${skew > 0 ? 'ahead of' : 'behind'} this host`;
  const name = `clock: ${origin}`;
  if (abs > SKEW_FAIL_MS) return fail(name, `its clock ${how} (over ${SKEW_FAIL_MS / 60_000} min): tokens will be refused or accepted wrongly; fix NTP on this host or the IdP`);
  if (abs > SKEW_WARN_MS) return warn(name, `its clock ${how} (over ${SKEW_WARN_MS / 1000} s); check NTP on this host and the IdP`);
  return pass(name, `its clock ${how}`);
}

export function checkClock(ctx: DoctorContext): CheckResult[] {
  const origins = [...new Set(ctx.idpDates.map((o) => o.origin))];
  return origins.map((o) => judgeSkew(o, ctx.idpDates)).filter((r): r is CheckResult => r !== undefined);
}
