// The TACACS+ config schema: defaults a user can rely on, and mistakes reported clearly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tacacsSourceSchema } from '../../../src/sources/tacacs/config.js';

describe('tacacsSourceSchema', () => {
  it('fills defaults', () => {
    const c = tacacsSourceSchema.parse({ kind: 'tacacs', id: 'ise', servers: ['10.0.0.1', '[2001:db8::1]:4949'], secret: 's' });
    assert.deepEqual(c.servers, [{ host: '10.0.0.1', port: 49 }, { host: '2001:db8::1', port: 4949 }]);
    assert.equal(c.authenType, 'pap');
    assert.equal(c.timeout, 5000);
    assert.equal(c.holdDown, 30_000);
    assert.equal(c.singleConnection, false);
    assert.deepEqual(c.authorization, { enabled: true, service: 'shell', extraArgs: [] });
    assert.deepEqual(c.rolePairs, ['role']);
    assert.equal(c.privLvlGroupPrefix, 'tacacs-priv-');
    assert.equal(c.insecureAllowUnencrypted, false);
  });

  const bad: [string, object, string][] = [
    ['no servers', { servers: [] }, 'servers'],
    ['a bad server', { servers: ['host:99999'] }, 'servers.0'],
    ['an empty secret', { secret: '' }, 'secret'],
    ['an unknown authen type', { authenType: 'chap' }, 'authenType'],
    ['a bare-number timeout', { timeout: 5 }, 'timeout'],
    ['a malformed extra pair', { authorization: { extraArgs: ['nopair'] } }, 'authorization.extraArgs.0'],
    ['an unknown key', { secrets: 'x' }, ''],
  ];
  for (const [name, over, path] of bad) {
    it(`refuses ${name}`, () => {
      const r = tacacsSourceSchema.safeParse({ kind: 'tacacs', id: 'ise', servers: ['10.0.0.1'], secret: 's', ...over });
      assert.equal(r.success, false);
      assert.ok(r.error!.issues.some((i) => i.path.join('.') === path), JSON.stringify(r.error!.issues));
    });
  }
});
