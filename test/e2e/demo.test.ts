// The README's quick start: `npm run demo` runs build/demo/run.js. Start it as a user would and
// sign in as bob: the whole chain (real NetBox, demo IdP, gateway) must work.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { launchBrowser } from '../support/browser.js';
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

      // A real browser form post through the gateway: NetBox's CSRF check (Origin vs Host) passes.
      const browser = await launchBrowser();
      try {
        const page = await browser.newPage();
        await page.goto(`${url}/dcim/sites/add/`);
        await page.getByLabel('Username').fill('bob');
        await page.getByLabel('Password').fill('bob');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.waitForURL((u) => u.href === `${url}/dcim/sites/add/`);
        await page.locator('#id_name').fill('Gateway Lab');
        await page.locator('#id_slug').fill('gateway-lab');
        await page.locator('button[name="_create"]').click();
        await page.waitForURL((u) => /\/dcim\/sites\/\d+\/$/.test(u.pathname), { timeout: 30_000 });
        assert.match((await page.textContent('body')) ?? '', /Gateway Lab/);
      } finally {
        await browser.close();
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
