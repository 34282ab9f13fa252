// The return-to URL after sign-in: only ever a same-origin path. Anything that a browser
// could read as another host (//host, /\host, encoded or control-character tricks) gives "/".

export function safeReturnPath(raw: string | null | undefined, reservedPrefix: string): string {
  if (!raw || raw.length > 2048) return '/';
  // Browsers strip tabs/newlines inside URLs and treat "\" like "/": reject rather than guess.
  if (/[\u0000-\u001f\u007f\\]/.test(raw)) return '/';
  if (!raw.startsWith('/') || raw.startsWith('//')) return '/';
  let decoded = raw;
  try {
    // Catch %2F%2F, %5C and double encodings that a later hop might decode into //host.
    for (let i = 0; i < 3; i++) {
      const next = decodeURIComponent(decoded);
      if (next === decoded) break;
      decoded = next;
    }
  } catch {
    return '/';
  }
  if (/[\u0000-\u001f\u007f\\]/.test(decoded) || decoded.startsWith('//')) return '/';
  const base = new URL('http://gateway.invalid');
  const u = new URL(raw, base);
  if (u.origin !== base.origin) return '/';
  const path = u.pathname + u.search + u.hash;
  // Never bounce back into the gateway's own pages (sign-in loops, logout).
  if (u.pathname.startsWith(reservedPrefix)) return '/';
  return path;
}
