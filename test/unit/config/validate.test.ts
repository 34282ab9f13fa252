// One `check` run lists every problem: a broken source does not hide the cross-field checks
// (duplicate ids, unknown policy sources, header collisions) nor problems in other sources, and
// a bad address is refused by `check` and `serve` alike with the field and line.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfigText } from '../../../src/config/load.js';
import { ConfigError, type ConfigIssue } from '../../../src/errors.js';
import { freePort } from '../../support/ports.js';

// Line numbers matter: the assertions below name them.
const MANY_PROBLEMS = `server:
  publicUrl: https://netbox.example.org
  trustedProxies: [10.0.0.0/8, 300.1.1.1]
netbox:
  url: http://127.0.0.1:8001
  headers:
    email: X-Remote-User
sources:
  - kind: radius
    id: aaa
    servers: [127.0.0.1]
    secret: s
    colour: blue
  - kind: oidc
    id: corp
    issuer: http://idp.example.org
    clientId: netbox
    clientSecret: x
  - kind: tacacs
    id: corp
    servers: [127.0.0.1]
    secret: s
policy:
  rules:
    - name: admins
      sources: [corpp]
      groups: [admins]
      superuser: true
`;

/** Each expected problem: path, a piece of the message, and its line in MANY_PROBLEMS. */
const EXPECTED: Array<[path: string, message: RegExp, line: number]> = [
  ['server.trustedProxies.1', /"300\.1\.1\.1" is not an IP address.*300 is not an octet/, 3],
  ['netbox.headers.email', /same header as netbox\.headers\.user/, 7],
  ['sources.0.colour', /unknown key "colour"/, 13],
  ['sources.1.issuer', /insecureAllowHttpIssuer: true.*this source's entry \(id: corp\)/, 16],
  ['sources.2.id', /source id "corp" is used twice/, 20],
  ['policy.rules.0.sources', /no source has id "corpp"/, 26],
];

/** Valid, with one notice (line 12): an insecure switch that is on. */
const WITH_NOTICE = `server:
  publicUrl: https://netbox.example.org
netbox:
  url: http://127.0.0.1:8001
sources:
  - kind: upstream
    id: ak
    mode: authentik
    trustedAddresses: [127.0.0.1]
    authentik: { url: "https://authentik.example.org", slug: netbox }
    jwt: { audience: netbox }
    insecureTrustUnsignedHeaders: true
policy:
  rules:
    - name: all
      users: [{ glob: "*" }]
`;

function issuesOf(text: string, file = '/etc/netbox-gate.yaml'): readonly ConfigIssue[] {
  try {
    parseConfigText(text, file, {});
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues;
  }
  assert.fail('expected the config to be refused');
}

const dir = mkdtempSync(join(tmpdir(), 'netbox-gate-validate-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const bin = join(process.cwd(), 'bin', 'netbox-gate.js');
const cli = (args: string[], timeout = 20_000) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout, env: { ...process.env, NETBOX_GATE_CONFIG: '' } });

describe('one validation pass', () => {
  it('lists every independent problem, each with its path and line', () => {
    const issues = issuesOf(MANY_PROBLEMS);
    for (const [path, message, line] of EXPECTED) {
      const hit = issues.find((i) => i.path === path);
      assert.ok(hit, `${path} missing from:\n${issues.map((i) => `${i.path}: ${i.message}`).join('\n')}`);
      assert.match(hit.message, message);
      assert.equal(hit.line, line, path);
      assert.equal(hit.file, '/etc/netbox-gate.yaml');
    }
    assert.equal(issues.length, EXPECTED.length, issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  });

  it('a broken section still lets the other checks run, and its own valid fields are checked', () => {
    const text = MANY_PROBLEMS.replace('  url: http://127.0.0.1:8001', '  url: http://127.0.0.1:8001\n  colour: blue');
    const paths = issuesOf(text).map((i) => i.path);
    assert.ok(paths.includes('netbox.colour'));
    assert.ok(paths.includes('netbox.headers.email'), 'header collision checked although netbox has another problem');
    assert.ok(paths.includes('policy.rules.0.sources'));
  });

  it('a broken policy rule does not hide the other rules: their references and patterns are checked at their own index', () => {
    const text = MANY_PROBLEMS.replace(
      '      superuser: true\n',
      '      superuser: true\n    - name: broken\n      superuser: false\n    - name: ops\n      sources: [nope]\n      groups: [{ regex: "((" }]\n',
    );
    const issues = issuesOf(text);
    const paths = issues.map((i) => i.path);
    assert.ok(paths.includes('policy.rules.1.superuser'), paths.join(', '));
    assert.ok(issues.some((i) => i.path === 'policy.rules.2.sources' && /"nope"/.test(i.message) && i.line === 32), paths.join(', '));
    assert.ok(paths.includes('policy.rules.2.groups.0.regex'), paths.join(', '));
    assert.ok(paths.includes('policy.rules.0.sources'), 'rule 0 still checked');
  });

  it('an http:// issuer derived from a preset points at the preset block and says where the switch goes', () => {
    const text = MANY_PROBLEMS.replace('    issuer: http://idp.example.org\n', '    preset: keycloak\n    keycloak: { url: "http://kc.example.org", realm: corp }\n');
    const hit = issuesOf(text).find((i) => i.path === 'sources.1.keycloak');
    assert.ok(hit, 'reported at the keycloak block');
    assert.equal(hit.line, 17);
    assert.match(hit.message, /http:\/\/kc\.example\.org\/realms\/corp\) needs `insecureAllowHttpIssuer: true` in this source's entry \(id: corp\), for local tests only/);
  });

  it('an unknown source kind names the kinds there are and does not hide the rest', () => {
    const text = MANY_PROBLEMS.replace('  - kind: radius', '  - kind: saml');
    const issues = issuesOf(text);
    const kind = issues.find((i) => i.path === 'sources.0.kind');
    assert.match(kind?.message ?? '', /unknown kind "saml"; expected one of oidc, radius, tacacs, ldap, upstream/);
    assert.ok(issues.some((i) => i.path === 'sources.2.id'));
    assert.ok(!issues.some((i) => /"aaa"/.test(i.message)), 'the broken entry still counts as a source id');
  });

  it('refuses every malformed address with the reason, for trustedProxies and an upstream source alike', () => {
    const good = MANY_PROBLEMS.replace('trustedProxies: [10.0.0.0/8, 300.1.1.1]', 'trustedProxies: [TP]');
    const cases: Array<[string, RegExp]> = [
      ['10.0.0.0/33', /longer than 32 bits/],
      ['fd00::/129', /longer than 128 bits/],
      ['10.0.0', /four numbers/],
      ['010.0.0.1', /leading zero/],
      ['::ffff:300.1.1.1', /embedded IPv4 part: 300 is not an octet/],
      ['fd00::g', /not a valid IPv6 address/],
      ['fe80::1%eth0', /zone ids/],
      ['proxy.example.org', /host names are not resolved/],
      ['10.0.0.0/8/9', /more than one "\/"/],
      ['0.0.0.0/0', /trusts every address/],
      ['::/0', /trusts every address/],
    ];
    const upstream = `${good.replace('  - kind: radius', '  - kind: upstream\n    mode: headers\n    trustedAddresses: [UA]\n  - kind: radius')}`;
    for (const [addr, why] of cases) {
      const issues = issuesOf(upstream.replace('TP', JSON.stringify(addr)).replace('UA', JSON.stringify(addr)));
      const proxies = issues.find((i) => i.path === 'server.trustedProxies.0');
      assert.match(proxies?.message ?? '(accepted)', why, addr);
      assert.equal(proxies?.line, 3, addr);
      const source = issues.find((i) => i.path === 'sources.0.trustedAddresses.0');
      assert.equal(source?.message, proxies?.message, addr);
      assert.equal(source?.line, 11, addr);
    }
  });
});

describe('netbox-gate check and serve (CLI)', () => {
  it('check exits non-zero and prints every problem with file:line', () => {
    const file = join(dir, 'many.yaml');
    writeFileSync(file, MANY_PROBLEMS);
    const r = cli(['check', '--config', file]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^${EXPECTED.length} problems in the configuration:`));
    for (const [path, message, line] of EXPECTED) {
      const text = r.stderr.split('\n').find((l) => l.trim().startsWith(`${path}:`));
      assert.ok(text, `${path} not printed:\n${r.stderr}`);
      assert.match(text, message);
      assert.ok(text.endsWith(`(${file}:${line})`), text);
    }
    const printed = r.stderr.split('\n').slice(1, -1).map((l) => l.trim().split(':')[0]);
    assert.deepEqual(printed, EXPECTED.map(([path]) => path), 'in file order');
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  it('serve refuses a bad CIDR with the same message as check, instead of crashing', async () => {
    const file = join(dir, 'bad-cidr.yaml');
    // Everything else is valid, so without the address check serve would get as far as starting.
    const port = await freePort();
    writeFileSync(
      file,
      `server:
  listen: 127.0.0.1:${port}
  publicUrl: https://netbox.example.org
  trustedProxies: [300.1.1.1]
netbox:
  url: http://127.0.0.1:8001
sources:
  - kind: radius
    id: aaa
    servers: [127.0.0.1]
    secret: s
policy:
  rules:
    - name: all
      users: [{ glob: "*" }]
`,
    );
    const problems = `1 problem in the configuration:\n  server.trustedProxies.0: "300.1.1.1" is not an IP address or CIDR block: 300 is not an octet (0-255) (${file}:4)\n`;
    const check = cli(['check', '--config', file]);
    assert.equal(check.status, 1, check.stderr);
    assert.equal(check.stderr, problems);
    const serve = cli(['serve', '--config', file], 10_000);
    assert.equal(serve.signal, null, 'serve exited by itself');
    assert.equal(serve.status, 1, serve.stderr);
    assert.equal(serve.stderr, problems);
    assert.doesNotMatch(serve.stderr, /unexpected error|ERR_INVALID_ARG_VALUE|\n\s+at /);
  });

  it('serve lists every problem exactly as check does (the config is read in a process of its own)', () => {
    const file = join(dir, 'many-serve.yaml');
    writeFileSync(file, MANY_PROBLEMS);
    const check = cli(['check', '--config', file]);
    const serve = cli(['serve', '--config', file], 10_000);
    assert.equal(serve.signal, null, 'serve exited by itself');
    assert.equal(serve.status, 1, serve.stderr);
    assert.match(serve.stderr, new RegExp(`^${EXPECTED.length} problems in the configuration:`));
    assert.equal(serve.stderr, check.stderr);
  });

  it('serve names a config file it cannot read, as check does', () => {
    const file = join(dir, 'absent.yaml');
    const check = cli(['check', '--config', file]);
    const serve = cli(['serve', '--config', file], 10_000);
    assert.equal(serve.status, 1, serve.stderr);
    assert.equal(serve.stderr, `netbox-gate: cannot read config file ${file}: ENOENT\n`);
    assert.equal(serve.stderr, check.stderr);
  });

  it('check prints notices after OK and still exits 0', () => {
    const file = join(dir, 'notice.yaml');
    writeFileSync(file, WITH_NOTICE);
    const r = cli(['check', '--config', file]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /: OK \(1 source: ak \[upstream\]/);
    assert.match(lines[1]!, new RegExp(`^note: sources\\.0\\.insecureTrustUnsignedHeaders: unsigned X-authentik-\\* headers are believed.*\\(${file.replaceAll('.', '\\.')}:12\\)$`));
  });

  it('serve logs each notice once at warn level when it starts', async () => {
    const port = await freePort();
    writeFileSync(join(dir, 'notice-serve.yaml'), WITH_NOTICE.replace('server:\n', `server:\n  listen: 127.0.0.1:${port}\n`));
    const child = spawn(process.execPath, [bin, 'serve', '--config', join(dir, 'notice-serve.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.includes('netbox-gate listening')) child.kill('SIGTERM');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await once(child, 'exit');
    clearTimeout(timer);
    const logged = stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { level: number; msg: string; event?: string; path?: string; line?: number });
    const notices = logged.filter((l) => l.event === 'config_notice');
    assert.equal(notices.length, 1, stdout);
    assert.equal(notices[0]!.level, 40, 'warn');
    assert.equal(notices[0]!.path, 'sources.0.insecureTrustUnsignedHeaders');
    assert.equal(notices[0]!.line, 13);
    assert.match(notices[0]!.msg, /unsigned X-authentik-\* headers are believed/);
    assert.ok(logged.some((l) => l.msg === 'netbox-gate listening'), 'it started');
  });
});
