// The README's quick start: `npm run demo` runs build/demo/run.js. Start it as a user would:
// every command it prints works when pasted, bob can sign in through the whole chain (real
// NetBox, demo IdP, gateway, Chromium), the dashboard has no internet error, and NetBox's data
// survives a restart unless --reset is given.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { launchBrowser } from '../support/browser.js';
import { repoRoot } from '../support/gateway.js';
import { CookieClient, signInThroughDemoIdp } from '../support/http-client.js';
import { freePort } from '../support/ports.js';

interface RunningDemo {
  child: ChildProcess;
  out: () => string;
  stop: () => Promise<void>;
}

/** Starts the demo as `npm run demo` would from the repo (npm sets INIT_CWD to where it was typed). */
async function startDemo(args: string[]): Promise<RunningDemo> {
  const env: NodeJS.ProcessEnv = { ...process.env, INIT_CWD: repoRoot() };
  delete env.DEMO_CLIENT_SECRET;
  const child = spawn(process.execPath, [join(repoRoot(), 'build', 'demo', 'run.js'), ...args], { cwd: repoRoot(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((r) => child.once('exit', r));
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
  return {
    child,
    out: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGINT');
      await exited;
    },
  };
}

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'nbg-demo-test-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('the quick-start demo', { timeout: 600_000 }, () => {
  it('every command it prints works when pasted, with no secret or PATH entry set up first', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    // Any NetBox URL will do here: the printed commands do not talk to NetBox.
    const demo = await startDemo(['--port', String(port), '--netbox-url', 'http://127.0.0.1:9', '--data-dir', dataDir]);
    try {
      // On Node 24 (the runtime the scripts use) oidc-provider has no "Unsupported runtime" warning.
      assert.doesNotMatch(demo.out(), /WARNING|Unsupported runtime/);
      const commands = [...demo.out().matchAll(/^ {4}\$ (.+)$/gm)].map((m) => m[1]!.replace(/\s+#.*$/, ''));
      assert.ok(commands.length >= 4, demo.out());
      assert.ok(commands.some((c) => c.includes(' explain ')), demo.out());
      // The user's shell: the repo as working directory, the machine's PATH, no demo variables.
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };
      const results = new Map<string, string>();
      for (const c of commands) {
        const r = spawnSync('sh', ['-c', c], { cwd: repoRoot(), env, encoding: 'utf8', timeout: 30_000 });
        assert.equal(r.status, 0, `pasted "${c}": exit ${r.status}\n${r.stdout}${r.stderr}`);
        assert.doesNotMatch(r.stderr, /error|warning/i, `pasted "${c}"`);
        results.set(c, r.stdout);
      }
      const bob = [...results].find(([c]) => c.endsWith('bob.json'))?.[1] ?? '';
      assert.match(bob, /decision: +ALLOWED/);
      assert.match(bob, /netbox groups: .*Network Engineers/);
      const carol = [...results].find(([c]) => c.endsWith('carol.json'))?.[1] ?? '';
      assert.match(carol, /decision: +DENIED: denied by rule "contractors-denied"/);
      // `kill -HUP <pid>` reloaded the config it names.
      const deadline = Date.now() + 10_000;
      while (!demo.out().includes('configuration reloaded') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.match(demo.out(), /configuration reloaded/);
    } finally {
      await demo.stop();
    }
  });

  it('starts NetBox, the IdP and the gateway; bob signs in; no RSS error; data kept across a restart, and --reset empties it', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let demo = await startDemo(['--port', String(port), '--data-dir', dataDir]);
    try {
      assert.match(demo.out(), new RegExp(`Open: +${url}/`));
      assert.match(demo.out(), /alice .*superuser/);
      // The environment is built by then: the first-run notice is not repeated on later runs.
      assert.doesNotMatch(demo.out(), /First run/);
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

        // The dashboard: the demo has no route to the internet, so NetBox runs as an isolated
        // deployment and its dashboard has no news feed that would show a red error.
        await page.goto(`${url}/`);
        await page.waitForLoadState('networkidle');
        const home = (await page.textContent('body')) ?? '';
        assert.match(home, /Welcome!/);
        assert.doesNotMatch(home, /RSS feed|external connection/i);
        assert.equal(await page.locator('.text-danger').count(), 0, 'no red text on the dashboard');
      } finally {
        await browser.close();
      }
    } finally {
      await demo.stop();
    }
    assert.ok(existsSync(join(dataDir, 'netbox', 'pgdata')), 'NetBox data kept after the demo stopped');

    const sitesAsBob = async (): Promise<string> => {
      const c = new CookieClient();
      const { res } = await signInThroughDemoIdp(c, url, 'bob', 'bob', '/dcim/sites/');
      assert.equal(res.status, 200);
      return res.text();
    };
    demo = await startDemo(['--port', String(port), '--data-dir', dataDir]);
    try {
      assert.match(demo.out(), /kept for the next run/);
      assert.match(await sitesAsBob(), /Gateway Lab/, 'the site made before the restart is still there');
    } finally {
      await demo.stop();
    }
    demo = await startDemo(['--port', String(port), '--data-dir', dataDir, '--reset']);
    try {
      assert.match(demo.out(), /Demo data reset/);
      assert.doesNotMatch(await sitesAsBob(), /Gateway Lab/, '--reset starts from an empty NetBox');
    } finally {
      await demo.stop();
    }
  });
});
