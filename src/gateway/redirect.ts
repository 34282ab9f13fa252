// The return-to URL after sign-in: only ever a same-origin path. The decision is made on the
// URL the browser will actually follow: after WHATWG parsing has removed dot segments
// ("/..//evil" and "/.%2e/%2e%2e//evil" both become "//evil", a network-path reference to
// another host) and after any later hop percent-decodes it. Anything doubtful gives "/".

const BASE = new URL('http://gateway.invalid');
// Browsers drop tabs and newlines inside URLs and treat "\" like "/": refuse rather than guess.
const SUSPICIOUS = /[\u0000-\u001f\u007f\\]/;

export function safeReturnPath(raw: string | null | undefined, reservedPrefix: string): string {
  if (!raw || raw.length > 2048 || SUSPICIOUS.test(raw)) return '/';
  if (!raw.startsWith('/') || raw.startsWith('//')) return '/';
  let u: URL;
  try {
    u = new URL(raw, BASE);
  } catch {
    return '/';
  }
  if (u.origin !== BASE.origin) return '/';
  // The path the browser will request, serialised (dot segments resolved, unsafe bytes escaped).
  const path = u.pathname + u.search + u.hash;
  if (!isLocalPath(path)) return '/';
  // A later hop (NetBox, a plugin, a proxy) may decode %2F%2F or %5C into "//host": check the
  // decoded forms too (up to three rounds for double encodings).
  let decoded = u.pathname;
  for (let i = 0; i < 3; i++) {
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      return '/';
    }
    if (next === decoded) break;
    decoded = next;
    if (SUSPICIOUS.test(decoded) || !decoded.startsWith('/') || decoded.startsWith('//')) return '/';
    let r: URL;
    try {
      r = new URL(decoded, BASE);
    } catch {
      return '/';
    }
    if (r.origin !== BASE.origin || !isLocalPath(r.pathname)) return '/';
  }
  // Never bounce back into the gateway's own pages (sign-in loops, logout).
  const lower = u.pathname.toLowerCase();
  const pre = reservedPrefix.toLowerCase();
  if (lower === pre || lower.startsWith(pre + '/') || decoded.toLowerCase().startsWith(pre + '/') || decoded.toLowerCase() === pre) return '/';
  // Resolving the result against any origin must give that same origin.
  if (new URL(path, 'https://origin.test').origin !== 'https://origin.test') return '/';
  return path;
}

/** One leading "/" followed by something that is not "/" or "\" (not a network-path reference). */
function isLocalPath(p: string): boolean {
  return p.startsWith('/') && !p.startsWith('//') && !p.startsWith('/\\');
}
