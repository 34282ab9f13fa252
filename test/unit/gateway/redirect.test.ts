import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { safeReturnPath } from '../../../src/gateway/redirect.js';

describe('safeReturnPath', () => {
  const P = '/.netbox-gate';
  it('returns the resolved path, dot segments removed', () => {
    assert.equal(safeReturnPath('/dcim/../ipam/prefixes/', P), '/ipam/prefixes/');
    assert.equal(safeReturnPath('/a%2Fb', P), '/a%2Fb');
  });
  it('keeps same-origin paths with query and fragment', () => {
    assert.equal(safeReturnPath('/dcim/sites/?q=a#x', P), '/dcim/sites/?q=a#x');
    assert.equal(safeReturnPath('/', P), '/');
  });
  const attacks = [
    '//evil.example',
    '///evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    'https://evil.example/',
    'http:evil.example',
    'javascript:alert(1)',
    '/%2F%2Fevil.example',
    '/%2f/evil.example',
    '%2F%2Fevil.example',
    '/%5Cevil.example',
    '/%252F%252Fevil.example',
    '/\tevil',
    '/\n/evil.example',
    '//%09/evil.example',
    'evil.example',
    '/.netbox-gate/logout',
    '',
    // Dot segments that the browser resolves into a network-path reference ("//evil.example").
    '/..//evil.example',
    '/x/..//evil.example',
    '/.%2e/%2e%2e//evil.example',
    '/x/%2e%2e//evil.example',
    '/./..//evil.example',
    '/x/..%2f/evil.example',
    '/x/../.netbox-gate/logout',
    '/.NETBOX-GATE/logout',
  ];
  for (const a of attacks) {
    it(`refuses ${JSON.stringify(a)}`, () => {
      const r = safeReturnPath(a, P);
      assert.equal(r, '/');
      assert.equal(new URL(r, 'https://gw.example').origin, 'https://gw.example');
    });
  }
});
