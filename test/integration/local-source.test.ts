// Break-glass accounts through the real binary: `netbox-gate hash-password` makes the hash (from a
// pipe and from a terminal), `serve` signs the user in through the password form and passes the
// identity to a recording upstream; wrong passwords get the one generic message, the per-user
// limit answers 429 with Retry-After, every attempt is an audit line, and SIGHUP re-reads the file.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { CookieClient } from '../support/http-client.js';
import { cliPath } from '../support/repo.js';
import { makeTempDirSync } from '../support/temp.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

const tmp = makeTempDirSync('netbox-gate-local-it-');
after(() => tmp.remove());
const usersFile = join(tmp.path, 'break-glass.users');
const PASSWORD = 'Correct-Horse-7f3a';
const LATER_PASSWORD = 'second-account-9c1e';
const accept = { Accept: 'text/html' };

/** `netbox-gate hash-password` with the password on a pipe. */
function hashFromPipe(password: string): string {
  const r = spawnSync(process.execPath, [cliPath(), 'hash-password'], { input: `${password}\n`, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  return r.stdout.trim();
}

function config(upstream: string) {
  return (port: number) => `server:
  publicUrl: http://127.0.0.1:${port}
  listen: 127.0.0.1:${port}
netbox:
  url: ${upstream}
signIn:
  rateLimit:
    perUser: { attempts: 3, window: 10m }
    perAddress: { attempts: 100, window: 10m }
sources:
  - kind: local
    id: emergency
    displayName: Emergency access
    usersFile: ${usersFile}
policy:
  rules:
    - name: break-glass
      sources: emergency
      groups: break-glass
      superuser: true
`;
}

/** Loads the sign-in page and posts the form; returns the POST's response. */
async function postForm(client: CookieClient, gw: RunningGateway, username: string, password: string): Promise<Response> {
  const page = await client.follow(`${gw.url}/dcim/devices/`, { headers: accept });
  const html = await page.res.text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  const next = /name="next" value="([^"]+)"/.exec(html)?.[1];
  assert.ok(csrf && next, `no password form at ${page.url}: ${html.slice(0, 300)}`);
  return client.request(`${gw.url}/.netbox-gate/login`, {
    method: 'POST',
    headers: { ...accept, 'Content-Type': 'application/x-www-form-urlencoded', Origin: gw.url },
    body: new URLSearchParams({ csrf, next: next.replaceAll('&amp;', '&'), source: 'emergency', username, password }).toString(),
  });
}

describe('local source through netbox-gate serve', { timeout: 120_000 }, () => {
  let upstream: RecordingUpstream;
  let gw: RunningGateway;
  let yaml: string;

  before(async () => {
    writeFileSync(usersFile, `# break-glass\nops-root:${hashFromPipe(PASSWORD)}:break-glass\n`, { mode: 0o600 });
    upstream = await startRecordingUpstream();
    let made = '';
    gw = await startGateway((port) => (made = config(upstream.url)(port)));
    yaml = made;
  });
  after(async () => {
    await gw?.stop();
    await upstream?.close();
  });

  it('the sign-in page offers the local source; the right password signs in and NetBox gets a superuser', async () => {
    const client = new CookieClient();
    const post = await postForm(client, gw, 'ops-root', PASSWORD);
    assert.equal(post.status, 302, await post.text());
    assert.equal(new URL(post.headers.get('location')!, gw.url).pathname, '/dcim/devices/');
    const page = await client.request(`${gw.url}/dcim/devices/`, { headers: accept });
    assert.equal(page.status, 200);
    const seen = upstream.seen.at(-1)!;
    assert.equal(seen.url, '/dcim/devices/');
    assert.equal(seen.headers['x-remote-user'], 'ops-root');
    assert.match(String(seen.headers['x-remote-user-groups']), /netbox-gate-superusers/);
    const audit = await gw.waitForLog((l) => l.audit === 'sign_in' && l.user === 'ops-root' && l.allowed === true);
    assert.equal(audit.source, 'emergency');
    assert.equal(audit.superuser, true);
    assert.deepEqual(audit.sourceGroups, ['break-glass']);
  });

  it('a wrong password and an unknown user get the same generic refusal, each audited', async () => {
    const bodies: string[] = [];
    for (const [user, pw] of [
      ['ops-root', 'not-it'],
      ['intruder', PASSWORD],
    ] as const) {
      const r = await postForm(new CookieClient(), gw, user, pw);
      assert.equal(r.status, 401);
      const html = await r.text();
      assert.match(html, /Invalid username or password\./);
      bodies.push(html.replace(/name="(csrf|username)" [^>]*>/g, ''));
      await gw.waitForLog((l) => l.audit === 'sign_in' && l.user === user && l.allowed === false && String(l.reason).startsWith('credentials rejected'));
    }
    assert.equal(bodies[0], bodies[1], 'nothing on the page tells the two apart');
  });

  it('after the per-user limit the form answers 429 with Retry-After, even for the right password', async () => {
    const client = new CookieClient();
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await postForm(client, gw, 'limited-user', `guess-${i}`)).status);
    assert.deepEqual(statuses, [401, 401, 401]);
    const limited = await postForm(client, gw, 'limited-user', 'guess-3');
    assert.equal(limited.status, 429);
    const retry = Number(limited.headers.get('retry-after'));
    assert.ok(Number.isInteger(retry) && retry > 0 && retry <= 600, `Retry-After: ${limited.headers.get('retry-after')}`);
    assert.match(await limited.text(), /Too many sign-in attempts/);
    await gw.waitForLog((l) => l.audit === 'rate_limited' && l.user === 'limited-user' && l.source === 'emergency');

    // The limit is per user: ops-root, limited now by its own failures, is refused with 429 too.
    for (let i = 0; i < 2; i++) assert.equal((await postForm(new CookieClient(), gw, 'ops-root', `bad-${i}`)).status, 401);
    const blocked = await postForm(new CookieClient(), gw, 'ops-root', PASSWORD);
    assert.equal(blocked.status, 429, 'the right password does not get past the limit');
  });

  it('passwords never reach the logs', () => {
    const text = JSON.stringify(gw.logs);
    for (const secret of [PASSWORD, 'not-it', 'guess-0', 'bad-1']) assert.ok(!text.includes(secret), `${secret} logged`);
  });

  it('SIGHUP re-reads the users file; a broken one is refused and the running accounts stay', async () => {
    writeFileSync(usersFile, `ops-root:${hashFromPipe(PASSWORD)}:break-glass\nsecond:${hashFromPipe(LATER_PASSWORD)}:break-glass\n`);
    assert.equal(await gw.reload(yaml), 'reloaded');
    const ok = await postForm(new CookieClient(), gw, 'second', LATER_PASSWORD);
    assert.equal(ok.status, 302);

    writeFileSync(usersFile, 'second:plaintext-password\n');
    const mark = gw.logs.length;
    assert.equal(await gw.reload(yaml), 'refused');
    const refused = gw.logs.slice(mark).find((l) => String(l.msg).startsWith('configuration reload refused'))!;
    const issues = refused.issues as string[];
    assert.ok(issues.some((i) => i.includes(`${usersFile}:1: user "second": expected an argon2id PHC string`)), JSON.stringify(issues));
    assert.ok(!JSON.stringify(refused).includes('plaintext-password'), 'the bad line is not echoed');
    assert.equal((await postForm(new CookieClient(), gw, 'second', LATER_PASSWORD)).status, 302, 'the previous file still holds');
  });
});

describe('netbox-gate hash-password', () => {
  it('from a pipe: one PHC line on stdout, nothing else', () => {
    const r = spawnSync(process.execPath, [cliPath(), 'hash-password'], { input: 's3cret\nignored second line\n', encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\$argon2id\$v=19\$m=65536,t=3,p=4\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+\n$/);
    const empty = spawnSync(process.execPath, [cliPath(), 'hash-password'], { input: '', encoding: 'utf8' });
    assert.equal(empty.status, 1);
    assert.equal(empty.stderr, 'netbox-gate hash-password: the password is empty\n');
  });

  // script(1) (util-linux, in every Debian) gives the command a terminal.
  const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
  it('from a terminal: asks twice without echo, refuses two different answers', { skip: hasScript ? false : 'script(1) not installed' }, async () => {
    const inTerminal = (answers: string[]) =>
      new Promise<{ code: number | null; output: string }>((resolve, reject) => {
        const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(cliPath())} hash-password`;
        const p = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
        let output = '';
        let asked = 0;
        p.stdout.setEncoding('utf8');
        p.stdout.on('data', (c: string) => {
          output += c;
          // Answer each prompt once it shows, as a person would.
          const prompts = (output.match(/Password: |Repeat it: /g) ?? []).length;
          while (asked < prompts && asked < answers.length) p.stdin.write(`${answers[asked++]}\r`);
        });
        p.on('error', reject);
        p.on('close', (code) => resolve({ code, output }));
      });
    const ok = await inTerminal(['tty-pass-1', 'tty-pass-1']);
    assert.equal(ok.code, 0, ok.output);
    assert.ok(!ok.output.includes('tty-pass-1'), 'the password is not echoed');
    assert.match(ok.output, /Password: [\s\S]*Repeat it: [\s\S]*\$argon2id\$v=19\$/);
    const differ = await inTerminal(['tty-pass-1', 'tty-pass-2']);
    assert.equal(differ.code, 1);
    assert.match(differ.output, /the two passwords differ/);
  });

  it('--version prints package.json version', () => {
    const r = spawnSync(process.execPath, [cliPath(), '--version'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^\d+\.\d+\.\d+(-[\w.]+)?\n$/);
  });
});
