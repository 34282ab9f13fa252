// requestTarget's path is exactly what `new URL(target, base).pathname` gives (the gateway routes
// on it: its own pages under the prefix, NetBox's login and logout paths), whether it took the
// fast path or parsed: for targets built from the pieces URL parsers treat specially.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { requestTarget } from '../../../src/gateway/target-path.js';

const base = new URL('https://netbox.example.org');
const piece = fc.constantFrom(
  '/', '//', '.', '..', '%2e', '%2E', '.%2e', '%2f', '%5c', '\\', '?', '#', '&', '=', ';', ':', '@', '!', '$', "'", '(', '*', '+', ',', '~', '_', '-',
  ' ', '\t', '\n', '%', '%zz', '%20', 'é', '\u3002', '"', '<', '>', '`', '{', '}', '|', '^', '[', ']',
  '.netbox-gate', 'login', 'logout', 'api', 'dcim', 'sites', 'x.css', 'static', '..x', 'x..', '...',
);
const target = fc.array(piece, { maxLength: 14 }).map((a) => '/' + a.join(''));

describe('requestTarget', () => {
  it('gives the URL parser\'s pathname for any origin-form target', () => {
    fc.assert(
      fc.property(target, (t) => {
        // "//x" names a host to the parser; an empty or bad one throws (the gateway answers 400).
        const outcome = (f: () => { pathname: string; href: string }) => {
          try {
            const r = f();
            return `${r.pathname} ${r.href}`;
          } catch {
            return 'throws';
          }
        };
        const mine = outcome(() => {
          const r = requestTarget(t, base);
          return { pathname: r.pathname, href: r.url().href };
        });
        assert.equal(mine, outcome(() => new URL(t, base)), JSON.stringify(t));
      }),
      { numRuns: 20_000 },
    );
  });

  it('removes dot segments and reads a backslash as a slash, as the parser does', () => {
    const cases: Array<[string, string]> = [
      ['/dcim/sites/?per_page=100', '/dcim/sites/'],
      ['/a/../.netbox-gate/login', '/.netbox-gate/login'],
      ['/./.netbox-gate/login', '/.netbox-gate/login'],
      ['/%2e%2e/.netbox-gate/login', '/.netbox-gate/login'],
      ['/logout/.', '/logout/'],
      ['/logout/..?x', '/'],
      ['/a\\b', '/a/b'],
      ['/x#/.netbox-gate', '/x'],
      ['/static/netbox.css', '/static/netbox.css'],
      ['/...', '/...'],
    ];
    for (const [t, want] of cases) assert.equal(requestTarget(t, base).pathname, want, t);
  });

  it('refuses a target that is not origin-form, as the gateway did with new URL', () => {
    assert.throws(() => requestTarget('http://evil.example/', base));
    assert.throws(() => requestTarget('*', base));
    assert.equal(requestTarget(undefined, base).pathname, '/');
  });
});
