// The path of a request target, as the WHATWG URL parser gives it, without parsing a URL for
// the usual target. `new URL()` took about 40 µs of a signed-in request when requests come
// seconds apart (a NetBox user clicking: code and caches cold), on the way to NetBox.
// Pure.

/**
 * Not "//" (the parser reads what follows as a host), then one or more segments, each a "/" and
 * characters that the URL parser keeps as they are in a path (no "%", "\", "#", "?", control or
 * non-ASCII characters), and none a "." or ".." segment (which the parser removes). Then an
 * optional query, kept raw.
 */
const SIMPLE = /^(?!\/\/)(?:\/(?!\.\.?(?:[/?]|$))[A-Za-z0-9._~!$&'()*+,;=:@-]*)+(?:\?[^#]*)?$/;

export interface RequestTarget {
  /** What `new URL(target, base).pathname` is. */
  readonly pathname: string;
  /** The parsed URL (for its query), made on first use. */
  url(): URL;
}

/** Throws (as `new URL` does) for a target that is not origin-form ("/..."). */
export function requestTarget(raw: string | undefined, base: URL): RequestTarget {
  const target = raw ?? '/';
  if (!target.startsWith('/')) throw new Error('absolute-form request target');
  let parsed: URL | undefined;
  const url = () => (parsed ??= new URL(target, base));
  if (SIMPLE.test(target)) {
    const q = target.indexOf('?');
    return { pathname: q < 0 ? target : target.slice(0, q), url };
  }
  const pathname = url().pathname;
  return { pathname, url };
}
