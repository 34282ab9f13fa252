// What doctor prints: one line per check (pass / warn / fail with the why), as text or JSON,
// and the exit code (non-zero when anything failed).

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  status: CheckStatus;
  /** Stable name of what was checked, e.g. "netbox: reachable" or "source corp-ldap: ldap bind ldaps://dc1:636". */
  check: string;
  /** What was seen and, for warn/fail, what to do. Never a secret. */
  detail: string;
}

export const pass = (check: string, detail: string): CheckResult => ({ status: 'pass', check, detail });
export const warn = (check: string, detail: string): CheckResult => ({ status: 'warn', check, detail });
export const fail = (check: string, detail: string): CheckResult => ({ status: 'fail', check, detail });

export interface Summary {
  pass: number;
  warn: number;
  fail: number;
}

export function summarize(results: readonly CheckResult[]): Summary {
  const s: Summary = { pass: 0, warn: 0, fail: 0 };
  for (const r of results) s[r.status]++;
  return s;
}

/** 1 when a check failed, else 0: warnings are things to look at, not a broken setup. */
export function exitCode(results: readonly CheckResult[]): number {
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}

const LABEL: Record<CheckStatus, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' };

/** One line per check (details on one line: server text is flattened), then a summary line. */
export function formatText(results: readonly CheckResult[]): string {
  const width = Math.max(0, ...results.map((r) => r.check.length));
  const lines = results.map((r) => `${LABEL[r.status]}  ${r.check.padEnd(width)}  ${oneLine(r.detail)}`);
  const s = summarize(results);
  lines.push(`${s.fail} failed, ${s.warn} warning${s.warn === 1 ? '' : 's'}, ${s.pass} passed`);
  return lines.join('\n') + '\n';
}

export function formatJson(results: readonly CheckResult[]): string {
  return JSON.stringify({ ok: exitCode(results) === 0, summary: summarize(results), checks: results }, null, 2) + '\n';
}

function oneLine(s: string): string {
  return s.replace(/[\r\n\t]+/g, ' ');
}
