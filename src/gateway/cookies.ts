// Minimal RFC 6265 cookie parsing and Set-Cookie building: we only need names and values
// in, and our own attributes out.

export function parseCookieHeader(header: string | undefined): Array<[string, string]> {
  if (!header) return [];
  const out: Array<[string, string]> = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    out.push([part.slice(0, eq).trim(), part.slice(eq + 1).trim()]);
  }
  return out;
}

export function getCookie(header: string | undefined, name: string): string | undefined {
  return parseCookieHeader(header).find(([n]) => n === name)?.[1];
}

export interface CookieOptions {
  maxAgeSeconds?: number;
  secure: boolean;
  path?: string;
  sameSite?: 'Lax' | 'Strict';
}

export function serializeCookie(name: string, value: string, o: CookieOptions): string {
  const parts = [`${name}=${value}`, `Path=${o.path ?? '/'}`, 'HttpOnly', `SameSite=${o.sameSite ?? 'Lax'}`];
  if (o.secure) parts.push('Secure');
  if (o.maxAgeSeconds !== undefined) parts.push(`Max-Age=${o.maxAgeSeconds}`);
  return parts.join('; ');
}

export function clearCookie(name: string, o: Omit<CookieOptions, 'maxAgeSeconds'>): string {
  return serializeCookie(name, '', { ...o, maxAgeSeconds: 0 });
}

/** Name and value of a Set-Cookie header line, plus whether it deletes the cookie. */
export function parseSetCookie(line: string): { name: string; value: string; deletes: boolean } | undefined {
  const first = line.split(';', 1)[0] ?? '';
  const eq = first.indexOf('=');
  if (eq <= 0) return undefined;
  const name = first.slice(0, eq).trim();
  const value = first.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  const attrs = line.toLowerCase();
  const deletes = value === '' || /max-age=0\b/.test(attrs) || /expires=thu, 01[ -]jan[ -]1970/.test(attrs);
  return { name, value, deletes };
}
