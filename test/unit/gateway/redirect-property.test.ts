// Property: whatever return-to a client supplies, every Location the gateway emits for it
// resolves to the gateway's own origin (or is "/"), on both paths that emit one: the redirect
// after a sign-in, and NetBox's /login/?next= for a signed-in user.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { startHarness, type Client, type Harness } from './harness.js';

// Pieces that matter to URL parsers, so the search reaches the tricky corners quickly.
const token = fc.constantFrom('/', '//', '.', '..', '%2e', '%2E', '%2f', '%2F', '%5c', '\\', '%252f', 'evil.example', '@', ':', '?', '#', 'http:', 'javascript:', '\t', '\n', '%09', '%00', ' ', '.netbox-gate', 'dcim', '%', '%zz', 'é', '\u3002');
// Paths shaped like the known attacks: segments that may be dot segments, then slashes, then a host.
const segment = fc.constantFrom('.', '..', '%2e', '%2E', '.%2e', '%2e.', '%2e%2e', 'x', 'dcim', '');
const attackShaped = fc
  .tuple(fc.array(segment, { maxLength: 4 }), fc.constantFrom('/', '//', '///', '/\\', '/%2f', '%2f%2f', '/%5c'), fc.constantFrom('evil.example', 'evil.example/x', '@evil.example', ''))
  .map(([segs, slashes, host]) => '/' + segs.join('/') + slashes + host);
const returnTo = fc.oneof(
  attackShaped,fc.string(), fc.string({ unit: 'grapheme' }), fc.array(token, { maxLength: 12 }).map((a) => a.join('')), fc.array(token, { maxLength: 12 }).map((a) => '/' + a.join('')));

function assertLocal(location: string | null, gatewayUrl: string, input: string) {
  assert.ok(location, `a Location for ${JSON.stringify(input)}`);
  const origin = new URL(gatewayUrl).origin;
  // As the browser resolves it, relative to the page that answered.
  assert.equal(new URL(location!, `${gatewayUrl}/.netbox-gate/callback/idp`).origin, origin, `${JSON.stringify(input)} -> ${location}`);
  assert.ok(location === '/' || (location!.startsWith('/') && !location!.startsWith('//') && !location!.startsWith('/\\')), `${JSON.stringify(input)} -> ${location}`);
}

describe('return-to property', () => {
  let h: Harness;
  let signedIn: Client;
  before(async () => {
    h = await startHarness();
    h.script.users = { bob: { groups: ['users'] } };
    signedIn = h.client();
    await signedIn.signIn('bob');
  });
  after(() => h.close());

  it("NetBox's /login/?next= for a signed-in user", async () => {
    await fc.assert(
      fc.asyncProperty(returnTo, async (next) => {
        const r = await signedIn.page(`/login/?next=${encodeURIComponent(next)}`);
        assert.equal(r.status, 302);
        assertLocal(r.headers.get('location'), h.url, next);
      }),
      { numRuns: 400 },
    );
  });

  it('the redirect after a sign-in', async () => {
    await fc.assert(
      fc.asyncProperty(returnTo, async (next) => {
        const r = await h.client().signIn('bob', next);
        assert.equal(r.status, 302);
        assertLocal(r.headers.get('location'), h.url, next);
      }),
      { numRuns: 300 },
    );
  });
});
