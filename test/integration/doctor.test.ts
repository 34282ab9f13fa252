// `netbox-gate doctor` (the shipped binary) against real services: the demo OpenID provider,
// slapd, FreeRADIUS, the TACACS+ peer and a real NetBox set up by `netbox-config`. All pass;
// then each is broken in turn and exactly the matching line fails. One NetBox for the file.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDemoIdp, type DemoIdp } from '../../demo/idp.js';
import { startFreeRadius, type FreeRadius } from '../support/freeradius.js';
import { startNetboxForGateway } from '../support/gateway.js';
import type { NetboxInstance } from '../support/netbox.js';
import { freePort } from '../support/ports.js';
import { cliPath } from '../support/repo.js';
import { SERVICE_DN, SERVICE_PW, SUFFIX, startSlapd, type Slapd } from '../support/slapd.js';
import { startTacacsServer, type RunningTacacsServer } from '../support/tacacs.js';
import { makeTempDir, type TempDir } from '../support/temp.js';

interface Check {
  status: 'pass' | 'warn' | 'fail';
  check: string;
  detail: string;
}
interface Run {
  code: number;
  stdout: string;
  stderr: string;
  checks: Check[];
}

const TACACS_SECRET = 'doctor-tacacs-secret';
const PROBE_PREFIX = 'netbox-gate-doctor-probe-';

interface Knobs {
  ldapPassword?: string;
  radiusSecret?: string;
  tacacsSecret?: string;
}

describe('netbox-gate doctor against the real services', () => {
  let idp: DemoIdp;
  let idpPort: number;
  let slapd: Slapd;
  let radius: FreeRadius;
  let tacacs: RunningTacacsServer;
  let nb: NetboxInstance;
  let nbPort: number;
  let dir: TempDir;

  const config = (k: Knobs = {}): string => `server:
  listen: 127.0.0.1:18080
  publicUrl: http://127.0.0.1:18080
netbox:
  url: http://127.0.0.1:${nbPort}
  version: "4.7"
sources:
  - kind: oidc
    id: demo
    issuer: ${idp.issuer}
    clientId: netbox-gate
    clientSecret: doctor-client-secret
    insecureAllowHttpIssuer: true
  - kind: ldap
    id: corp-ldap
    urls: [${slapd.ldapsUrl}]
    tls: { caFile: ${slapd.caFile} }
    bindDn: ${SERVICE_DN}
    bindPassword: ${k.ldapPassword ?? SERVICE_PW}
    userSearch: { base: "ou=people,${SUFFIX}" }
    timeout: 2s
  - kind: radius
    id: freeradius
    servers: ["127.0.0.1:${radius.authPort}"]
    secret: ${k.radiusSecret ?? radius.secret}
    timeout: 1s
    retries: 0
  - kind: tacacs
    id: tac
    servers: ["${tacacs.address}"]
    secret: ${k.tacacsSecret ?? TACACS_SECRET}
    timeout: 2s
  - kind: upstream
    id: pomerium
    mode: pomerium
    trustedAddresses: [127.0.0.1]
    jwt:
      jwksUrl: ${idp.issuer}/jwks
      insecureAllowHttpJwks: true
      issuer: netbox.example.org
      audience: netbox.example.org
policy:
  rules:
    - name: everyone
      groups: [netbox-users]
`;

  /** Runs the real binary; NETBOX_GATE_DOCTOR_TOKEN is the admin's token unless `token: false`. */
  const doctor = (yaml: string, opts: { token?: boolean; json?: boolean; args?: string[] } = {}): Promise<Run> => {
    const file = join(dir.path, `doctor-${Math.random().toString(16).slice(2)}.yaml`);
    writeFileSync(file, yaml);
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NETBOX_GATE_DOCTOR_TOKEN;
    if (opts.token !== false) env.NETBOX_GATE_DOCTOR_TOKEN = nb.adminAuthorization;
    const args = [cliPath(), 'doctor', '--config', file, ...(opts.json === false ? [] : ['--json']), ...(opts.args ?? [])];
    return new Promise((resolve) => {
      execFile(process.execPath, args, { env, timeout: 60_000 }, (err, stdout, stderr) => {
        const code = err ? Number((err as { code?: number }).code ?? 1) : 0;
        let checks: Check[] = [];
        if (opts.json !== false) {
          try {
            checks = (JSON.parse(stdout) as { checks: Check[] }).checks;
          } catch {
            assert.fail(`doctor did not print JSON (exit ${code}):\n${stdout}\n${stderr}`);
          }
        }
        resolve({ code, stdout, stderr, checks });
      });
    });
  };

  const notPassing = (r: Run) =>
    r.checks
      .filter((c) => c.status !== 'pass')
      .map((c) => `${c.status} ${c.check}`)
      .sort();
  const line = (r: Run, name: string | RegExp): Check => {
    const c = r.checks.find((x) => (typeof name === 'string' ? x.check === name : name.test(x.check)));
    assert.ok(c, `no line ${name} in:\n${JSON.stringify(r.checks, null, 2)}`);
    return c;
  };
  const probeUsers = async (): Promise<string[]> => {
    const r = await nb.api('GET', `/api/users/users/?username__isw=${PROBE_PREFIX}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return (r.body as { results: Array<{ username: string }> }).results.map((u) => u.username);
  };

  /**
   * slapd's test certificate (test/support/slapd.ts) is made for 2 days, so doctor rightly warns
   * that it expires soon: the one line that does not pass in a working setup. Read from the
   * server so the expectation follows the certificate.
   */
  let ldapsCertLine: string;
  const expectedLdapsCertLine = async (): Promise<string> => {
    const port = Number(new URL(slapd.ldapsUrl).port);
    const validTo = await new Promise<Date>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
        resolve(new Date(s.getPeerCertificate().valid_to));
        s.destroy();
      });
      s.once('error', reject);
    });
    const days = (validTo.getTime() - Date.now()) / 86_400_000;
    return days < 14 ? `warn tls: 127.0.0.1:${port}` : '';
  };
  /** The lines that do not pass, without the certificate line explained above. */
  const broken = (r: Run) => notPassing(r).filter((l) => l !== ldapsCertLine);

  before(async () => {
    dir = await makeTempDir('netbox-gate-doctor-');
    idpPort = await freePort();
    idp = await startDemoIdp({
      port: idpPort,
      clients: [{ clientId: 'netbox-gate', clientSecret: 'doctor-client-secret', redirectUris: ['http://127.0.0.1:18080/.netbox-gate/callback/demo'], postLogoutRedirectUris: [] }],
    });
    [slapd, radius, tacacs] = await Promise.all([
      startSlapd(),
      startFreeRadius(),
      startTacacsServer({ secret: TACACS_SECRET, users: { alice: { password: 'alice-pw' } } }),
    ]);
    nbPort = await freePort();
    nb = await startNetboxForGateway(config(), {}, nbPort);
    ldapsCertLine = await expectedLdapsCertLine();
  });
  after(async () => {
    await Promise.allSettled([idp?.stop(), slapd?.stop(), radius?.stop(), tacacs?.stop(), nb?.stop()]);
    await dir?.remove();
  });

  it('passes every check against the working setup, and deletes the probe user it made', async () => {
    const r = await doctor(config());
    assert.deepEqual(notPassing(r), [ldapsCertLine].filter(Boolean), r.stdout);
    assert.equal(r.code, 0);
    assert.match(line(r, 'source demo: oidc discovery').detail, new RegExp(`names issuer ${idp.issuer}`));
    assert.match(line(r, 'source demo: oidc jwks').detail, /1 usable signing key/);
    assert.match(line(r, `source corp-ldap: ldap bind ${slapd.ldapsUrl}`).detail, /bound as cn=netbox-gate/);
    assert.match(line(r, /^source freeradius: radius status-server /).detail, /Access-Accept that verifies/);
    assert.match(line(r, /^source tac: tacacs\+ key /).detail, /status FAIL .* the shared key matches/);
    assert.match(line(r, 'source pomerium: upstream jwks').detail, /usable signing key/);
    assert.match(line(r, 'netbox: reachable').detail, /^NetBox 4\.7\.\d+ at /);
    assert.match(line(r, 'netbox: remote auth').detail, /logged the probe user netbox-gate-doctor-probe-[0-9a-f]+ in from the X-Remote-User header/);
    assert.match(line(r, 'netbox: header trust').detail, /only on loopback/);
    assert.match(line(r, 'netbox: probe cleanup').detail, /deleted the NetBox user netbox-gate-doctor-probe-[0-9a-f]+ \(id \d+\)/);
    assert.match(line(r, /^tls: 127\.0\.0\.1:/).detail, ldapsCertLine ? /certificate expires in \d+ days? \(\d{4}-\d\d-\d\d\); renew it/ : /certificate valid until/);
    assert.match(line(r, `clock: ${new URL(idp.issuer).origin}`).detail, /agrees with this host|s (ahead of|behind)/);
    assert.deepEqual(await probeUsers(), []);
    assert.ok(!r.stdout.includes(SERVICE_PW) && !r.stdout.includes(TACACS_SECRET) && !r.stdout.includes(radius.secret), 'no secret in the output');
  });

  it('text output: one line per check and a summary; without a token it names the user to delete', async () => {
    const r = await doctor(config(), { token: false, json: false });
    assert.equal(r.code, 0, r.stdout);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines.at(-1)!, ldapsCertLine ? /^0 failed, 2 warnings, \d+ passed$/ : /^0 failed, 1 warning, \d+ passed$/);
    assert.match(lines.find((l) => l.includes('netbox: remote auth'))!, /^PASS {2}netbox: remote auth +NetBox logged the probe user \S+ in from the X-Remote-User header and took its email/);
    const cleanup = lines.find((l) => l.includes('netbox: probe cleanup'))!;
    assert.match(cleanup, /^WARN {2}/);
    const user = /NetBox created the user (netbox-gate-doctor-probe-[0-9a-f]+)/.exec(cleanup)?.[1];
    assert.ok(user, cleanup);
    assert.match(cleanup, /--netbox-token \/ NETBOX_GATE_DOCTOR_TOKEN/);
    // The named user is the one NetBox holds; remove it as the operator would.
    assert.deepEqual(await probeUsers(), [user]);
    const found = await nb.api('GET', `/api/users/users/?username=${user}`);
    assert.equal((await nb.api('DELETE', `/api/users/users/${found.body.results[0].id}/`)).status, 204);
    for (const l of lines.slice(0, -1)) assert.match(l, /^(PASS|WARN|FAIL) {2}\S/);
  });

  it('a wrong LDAP bind password fails the LDAP line only', async () => {
    const r = await doctor(config({ ldapPassword: 'not-the-password' }));
    assert.equal(r.code, 1);
    assert.deepEqual(broken(r), [`fail source corp-ldap: ldap bind ${slapd.ldapsUrl}`]);
    assert.match(line(r, `source corp-ldap: ldap bind ${slapd.ldapsUrl}`).detail, /invalid credentials \(result 49\)/);
    assert.ok(!r.stdout.includes('not-the-password'));
  });

  it('a wrong RADIUS secret fails the RADIUS line only', async () => {
    const r = await doctor(config({ radiusSecret: 'not-the-secret' }));
    assert.equal(r.code, 1);
    assert.deepEqual(broken(r), [`fail source freeradius: radius status-server 127.0.0.1:${radius.authPort}`]);
    assert.match(line(r, /radius status-server/).detail, /shared secret may be wrong/);
  });

  it('a wrong TACACS+ key fails the TACACS+ line only', async () => {
    const r = await doctor(config({ tacacsSecret: 'not-the-key' }));
    assert.equal(r.code, 1);
    assert.deepEqual(broken(r), [`fail source tac: tacacs+ key ${tacacs.address}`]);
    assert.match(line(r, /tacacs\+ key/).detail, /does not decode .*shared key differs/);
  });

  it('NetBox reachable on another address and trusting the probe header fails, and the probe user is deleted', async () => {
    // What `ports: ["8000:8080"]` or a bind to 0.0.0.0 does: NetBox answers beyond loopback.
    // 127.0.0.2 keeps the test on loopback; doctor probes it among this host's addresses.
    const fwd = net.createServer((c) => {
      const up = net.connect(nbPort, '127.0.0.1');
      c.pipe(up).pipe(c);
      c.on('error', () => up.destroy());
      up.on('error', () => c.destroy());
    });
    await new Promise<void>((resolve, reject) => fwd.once('error', reject).listen(nbPort, '127.0.0.2', resolve));
    try {
      const r = await doctor(config());
      assert.equal(r.code, 1);
      assert.deepEqual(broken(r), ['fail netbox: header trust']);
      const trust = line(r, 'netbox: header trust').detail;
      assert.match(trust, new RegExp(`also answers at 127\\.0\\.0\\.2:${nbPort}`));
      assert.match(trust, /if anyone is able to get access to Netbox, around Pomerium, that person could create a header with a username and impersonate that user/);
      assert.match(trust, /bind it to 127\.0\.0\.1/);
      assert.match(line(r, 'netbox: probe cleanup').detail, /deleted the NetBox user .* and ended its \d+ NetBox sessions/);
      assert.deepEqual(await probeUsers(), [], 'the probe user is gone');
    } finally {
      await new Promise<void>((resolve) => fwd.close(() => resolve()));
    }
  });

  it('netbox.url beyond loopback and NetBox trusting a header sent there directly fails; --netbox-private (only the gateway reaches it) makes it a warning', async () => {
    // NetBox on a network address (a private network, another host): doctor cannot see who else
    // reaches it, only that a header sent directly was honoured. This host's own non-loopback
    // address, forwarded to the test NetBox, stands for it.
    const addr = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a !== undefined && !a.internal && a.family === 'IPv4')?.address;
    assert.ok(addr, 'the test needs a non-loopback IPv4 address on this host');
    const fwd = net.createServer((c) => {
      const up = net.connect(nbPort, '127.0.0.1');
      c.pipe(up).pipe(c);
      c.on('error', () => up.destroy());
      up.on('error', () => c.destroy());
    });
    await new Promise<void>((resolve, reject) => fwd.once('error', reject).listen(0, addr, resolve));
    try {
      const url = `http://${addr}:${(fwd.address() as net.AddressInfo).port}`;
      const yaml = config().replace(`url: http://127.0.0.1:${nbPort}`, `url: ${url}`);
      assert.notEqual(yaml, config());
      const r = await doctor(yaml);
      assert.equal(r.code, 1);
      assert.deepEqual(broken(r), ['fail netbox: header trust']);
      const trust = line(r, 'netbox: header trust').detail;
      assert.match(trust, new RegExp(`NetBox at ${url.replace(/\./g, '\\.')} logged in a probe user from a X-Remote-User header that doctor sent directly`, 'i'));
      assert.match(trust, /bind it to 127\.0\.0\.1/);
      assert.match(trust, /rerun with --netbox-private/);
      assert.deepEqual(await probeUsers(), [], 'the probe user is gone');

      const stated = await doctor(yaml, { args: ['--netbox-private'] });
      assert.equal(stated.code, 0, stated.stdout);
      assert.deepEqual(broken(stated), ['warn netbox: header trust']);
      assert.match(line(stated, 'netbox: header trust').detail, /You stated \(--netbox-private\) that only the gateway can reach it; keep it so/);
      assert.deepEqual(await probeUsers(), [], 'the probe user is gone');
    } finally {
      await new Promise<void>((resolve) => fwd.close(() => resolve()));
    }
  });

  it('the IdP down fails the lines that need it', async () => {
    await idp.stop();
    try {
      const r = await doctor(config());
      assert.equal(r.code, 1);
      assert.deepEqual(broken(r), ['fail source demo: oidc discovery', 'fail source demo: oidc jwks', 'fail source pomerium: upstream jwks']);
      assert.match(line(r, 'source demo: oidc discovery').detail, /failed|ECONNREFUSED/);
      assert.equal(r.checks.filter((c) => c.check.startsWith('clock:')).length, 0, 'no clock line without an answer');
    } finally {
      idp = await startDemoIdp({
        port: idpPort,
        clients: [{ clientId: 'netbox-gate', clientSecret: 'doctor-client-secret', redirectUris: ['http://127.0.0.1:18080/.netbox-gate/callback/demo'], postLogoutRedirectUris: [] }],
      });
    }
  });

  it('NetBox down fails the NetBox line (last: it stops NetBox)', async () => {
    await nb.stop();
    const r = await doctor(config(), { token: false });
    assert.equal(r.code, 1);
    assert.deepEqual(broken(r), ['fail netbox: reachable', 'warn netbox: header trust', 'warn netbox: remote auth']);
    assert.match(line(r, 'netbox: reachable').detail, /cannot reach NetBox at http:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/);
  });
});
