// The lifecycle config section: sync sources must exist (named with file:line); what the sync
// cannot ask and what is off without netbox.api are notices; `check` says deprovisioning is off
// without a token; `sessions revoke --deprovision` needs --user and netbox.api.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfigText } from '../../../src/config/load.js';
import { ConfigError, formatConfigIssue } from '../../../src/errors.js';
import { makeTempDirSync } from '../../support/temp.js';

const base = (netboxExtra: string, lifecycle: string) => `server:
  publicUrl: https://netbox.example.org
netbox:
  url: http://127.0.0.1:8001
${netboxExtra}sources:
  - kind: radius
    id: aaa
    servers: [127.0.0.1]
    secret: s
  - kind: oidc
    id: corp
    issuer: https://idp.example.org
    clientId: netbox
  - kind: ldap
    id: dir
    urls: [ldaps://ldap.example.org]
    userDnTemplate: "uid={username},ou=people,dc=example,dc=org"
policy:
  rules: [{ name: all }]
${lifecycle}`;
const API = '  api:\n    token: nbt_abc.def\n';

describe('lifecycle config', () => {
  it('parses interval, sources and radiusInactivity as milliseconds', () => {
    const cfg = parseConfigText(base(API, 'lifecycle:\n  sync: { interval: 10m, sources: [aaa] }\n  radiusInactivity: 30d\n'), 'gate.yaml', {});
    assert.deepEqual(cfg.lifecycle, { sync: { interval: 600_000, sources: ['aaa'] }, radiusInactivity: 30 * 24 * 3600_000 });
    assert.equal(parseConfigText(base(API, 'lifecycle:\n  sync: {}\n'), 'gate.yaml', {}).lifecycle?.sync?.interval, 15 * 60_000);
  });

  it('an unknown sync source, a bad duration and an unknown key are errors naming field and line', () => {
    assert.throws(
      () => parseConfigText(base(API, 'lifecycle:\n  sync: { interval: soon, sources: [nope] }\n  radiusInactivty: 1d\n'), 'gate.yaml', {}),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        const msgs = e.issues.map(formatConfigIssue);
        assert.ok(msgs.some((m) => /^lifecycle\.sync\.interval: "soon" is not a duration.*\(gate\.yaml:23\)$/.test(m)), msgs.join('\n'));
        assert.ok(msgs.some((m) => /^lifecycle.*radiusInactivty/.test(m)), msgs.join('\n'));
        return true;
      },
    );
    assert.throws(
      () => parseConfigText(base(API, 'lifecycle:\n  sync:\n    sources: [aaa, nope]\n'), 'gate.yaml', {}),
      (e: unknown) => e instanceof ConfigError && e.issues.map(formatConfigIssue).includes('lifecycle.sync.sources.1: no source has id "nope" (gate.yaml:24)'),
    );
  });

  it('notices: off without netbox.api; sources the sync cannot ask are named', () => {
    const off = parseConfigText(base('', 'lifecycle:\n  sync: {}\n'), 'gate.yaml', {});
    assert.deepEqual(off.notices.map((n) => n.message), ['netbox.api is not set: deprovisioning, reactivation and directory sync are off (the gateway cannot change NetBox users without a token)']);
    const on = parseConfigText(base(API, 'lifecycle:\n  sync: {}\n'), 'gate.yaml', {});
    const msgs = on.notices.map((n) => n.message);
    assert.ok(msgs.some((m) => /^source "corp" is skipped by directory sync: only Entra ID/.test(m)), msgs.join('\n'));
    assert.ok(msgs.some((m) => /^source "dir" is skipped by directory sync: it has no bindDn/.test(m)), msgs.join('\n'));
    assert.ok(!msgs.some((m) => m.includes('"aaa"')), 'RADIUS is handled by radiusInactivity, not skipped');
    const noSync = parseConfigText(base(API, 'lifecycle:\n  radiusInactivity: 30d\n'), 'gate.yaml', {});
    assert.deepEqual(noSync.notices.map((n) => n.message), ['applied by the directory sync: set lifecycle.sync too']);
  });
});

describe('CLI', () => {
  const tmp = makeTempDirSync('netbox-gate-lifecycle-');
  after(() => tmp.remove());
  const bin = join(process.cwd(), 'bin', 'netbox-gate.js');
  const file = (text: string) => {
    const f = join(tmp.path, `gate-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(f, text);
    return f;
  };
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

  it('check says deprovisioning is off without netbox.api, and nothing about it with one', () => {
    const without = run('check', '--config', file(base('', '')));
    assert.equal(without.status, 0, without.stderr);
    assert.match(without.stdout, /^note: netbox\.api is not set: deprovisioning is off \(docs\/lifecycle\.md\)$/m);
    const withApi = run('check', '--config', file(base(API, '')));
    assert.equal(withApi.status, 0, withApi.stderr);
    assert.doesNotMatch(withApi.stdout, /deprovisioning/);
  });

  it('sessions revoke --deprovision needs --user (usage, exit 2) and netbox.api (exit 1, says it is off)', () => {
    const usage = run('sessions', 'revoke', '--id', 'abcdefgh', '--deprovision', '--config', file(base(API, '')));
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /--deprovision needs --user U/);
    const off = run('sessions', 'revoke', '--user', 'bob', '--deprovision', '--config', file(base('', '')));
    assert.equal(off.status, 1);
    assert.match(off.stderr, /--deprovision needs netbox\.api .*deprovisioning is off/);
  });
});
