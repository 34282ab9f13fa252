// Small zod building blocks shared by every config section, so durations, addresses and
// secrets read the same everywhere. Secrets arrive here already resolved from ${env:}/${file:}.
import { z } from 'zod';

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "500ms", "5s", "10m", "12h", "7d" -> milliseconds. A bare number is rejected: units avoid guesswork. */
export const duration = z
  .string({ error: 'expected a duration such as "5s", "10m" or "12h"' })
  .transform((s, ctx) => {
    const m = DURATION_RE.exec(s.trim());
    if (!m) {
      ctx.addIssue({ code: 'custom', message: `"${s}" is not a duration; use a number with ms, s, m, h or d (e.g. "5s")` });
      return z.NEVER;
    }
    return Math.round(Number(m[1]) * UNIT_MS[m[2]!]!);
  });

export const port = z.number().int().min(1).max(65535);

/** `host:port` or `[v6]:port`; the default port is applied by the caller. */
export const hostPort = (defaultPort: number) =>
  z.string().min(1).transform((s, ctx) => {
    const m = /^(?:\[([^\]]+)\]|([^:\s]+))(?::(\d{1,5}))?$/.exec(s.trim());
    const p = m?.[3] === undefined ? defaultPort : Number(m[3]);
    if (!m || p < 1 || p > 65535) {
      ctx.addIssue({ code: 'custom', message: `"${s}" is not host[:port]` });
      return z.NEVER;
    }
    return { host: (m[1] ?? m[2])!, port: p };
  });

/** A secret value (already resolved from ${env:}/${file:}); never empty. */
export const secret = z.string().min(1, 'must not be empty');

export const identifier = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'use 1-63 lower-case letters, digits, "-" or "_"');

export const httpUrl = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}, 'expected an http:// or https:// URL');

/** Profile attribute names a source maps to NetBox's first name, last name and email. */
export const profileMapping = z
  .strictObject({
    firstName: z.string().min(1).optional(),
    lastName: z.string().min(1).optional(),
    email: z.string().min(1).optional(),
  })
  .optional();

/** Common to every source entry. */
export const sourceBase = {
  id: identifier,
  displayName: z.string().min(1).max(80).optional(),
};
