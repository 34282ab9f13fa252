// The README's quick start: `npm run demo` runs build/demo/run.js. Start it as a user would and
// sign in as bob: the whole chain (real NetBox, demo IdP, gateway) must work.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../support/gateway.js';
import { CookieClient, signInThroughDemoIdp } from '../support/http-client.js';
import { freePort } from '../support/ports.js';

describe('the quick-start demo', { timeout: 300_000 }, () => {
  it('starts NetBox, the IdP and the gateway, and bob can sign in', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [join(repoRoot(), 'build', 'demo', 'run.js'), '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setInterval(() => {
          if (out.includes('Press Ctrl-C to stop.')) {
            clearInterval(t);
            resolve();
          }
        }, 200);
        child.once('exit', (code) => {
          clearInterval(t);
          reject(new Error(`demo exited ${code}: ${out}`));
        });
      });
      const url = `http://127.0.0.1:${port}`;
      assert.match(out, new RegExp(`Open: +${url}/`));
      assert.match(out, /alice .*superuser/);
      const c = new CookieClient();
      const { res, url: landed } = await signInThroughDemoIdp(c, url, 'bob', 'bob', '/dcim/sites/');
      assert.equal(res.status, 200);
      assert.equal(new URL(landed).pathname, '/dcim/sites/');
      assert.match(await res.text(), /Sites/);
      const devices = await c.request(`${url}/dcim/devices/`, { headers: { Accept: 'text/html' } });
      assert.equal(devices.status, 403);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
