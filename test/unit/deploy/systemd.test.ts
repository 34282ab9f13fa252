// examples/netbox-gate.service: the hardening it promises is in the file, and systemd's own
// `systemd-analyze verify` accepts it without a single warning about it (systemd from Debian;
// scripts/deps/systemd.sh). `systemd-analyze security --offline` rates its exposure.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { makeTempDirSync } from '../../support/temp.js';

const root = process.cwd();
const unitText = readFileSync(join(root, 'examples', 'netbox-gate.service'), 'utf8');

/** Section -> key -> every value in file order (systemd keys may repeat; an empty value resets). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const sec = /^\[([A-Za-z]+)\]$/.exec(line);
    if (sec) {
      current = new Map();
      sections.set(sec[1]!, current);
      return;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    assert.ok(kv && current, `line ${i + 1} is not key=value inside a section: ${raw}`);
    const list = current.get(kv[1]!) ?? [];
    list.push(kv[2]!);
    current.set(kv[1]!, list);
  });
  return sections;
}

const unit = parseUnit(unitText);
const service = unit.get('Service')!;
const one = (key: string) => {
  const v = service.get(key);
  assert.ok(v && v.length === 1, `[Service] ${key}= appears ${v?.length ?? 0} times`);
  return v[0]!;
};

describe('examples/netbox-gate.service', () => {
  it('has the three sections', () => assert.deepEqual([...unit.keys()], ['Unit', 'Service', 'Install']));

  it('runs serve with a config under the read-only path, reloads with SIGHUP, restarts on failure', () => {
    const exec = one('ExecStart');
    const m = /^(\/\S+) serve --config (\/\S+)$/.exec(exec);
    assert.ok(m, exec);
    assert.ok(m[2]!.startsWith(`${one('ReadOnlyPaths')}/`), 'the config is under ReadOnlyPaths');
    assert.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID');
    assert.equal(one('Restart'), 'on-failure');
    assert.match(one('TimeoutStopSec'), /^\d+s$/);
  });

  it('is hardened: own user, read-only system, no new privileges, private /tmp, no capabilities', () => {
    assert.ok(one('User') !== 'root' || one('DynamicUser') === 'yes');
    for (const [key, value] of Object.entries({
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      NoNewPrivileges: 'yes',
      PrivateTmp: 'yes',
      PrivateDevices: 'yes',
      CapabilityBoundingSet: '',
      AmbientCapabilities: '',
      RestrictSUIDSGID: 'yes',
      SystemCallArchitectures: 'native',
      UMask: '0077',
    })) {
      assert.equal(one(key), value, `${key}=`);
    }
    assert.deepEqual(one('RestrictAddressFamilies').split(' ').sort(), ['AF_INET', 'AF_INET6', 'AF_UNIX']);
    // V8 needs writable-then-executable memory for its JIT: this would stop node from starting.
    assert.ok(!service.has('MemoryDenyWriteExecute'));
  });

  it('loads each secret as a credential, under the path the config reads with ${file:}', () => {
    const creds = service.get('LoadCredential') ?? [];
    assert.ok(creds.length >= 1);
    for (const c of creds) {
      const [name, path] = c.split(':');
      assert.match(name!, /^[a-z0-9-]+$/);
      assert.ok(path?.startsWith('/etc/netbox-gate/credentials/'), c);
    }
    assert.match(unitText, /\$\{file:\/run\/credentials\/netbox-gate\.service\/oidc-client-secret\}/);
    assert.ok(creds.some((c) => c.startsWith('oidc-client-secret:')));
  });

  // systemd from Debian is installed by scripts/deps/systemd.sh.
  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  const tmp = makeTempDirSync('netbox-gate-unit-');
  after(() => tmp.remove());
  // verify wants ExecStart's program to exist: point it at this checkout's bin.
  const copy = join(tmp.path, 'netbox-gate.service');
  writeFileSync(copy, unitText.replaceAll('/usr/local/bin/netbox-gate', join(root, 'bin', 'netbox-gate.js')));

  it('`systemd-analyze verify` accepts it without a warning about it', () => {
    assert.equal(analyze.status, 0, 'systemd-analyze is missing: run scripts/deps/systemd.sh');
    const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    // Other units on the machine may draw warnings; only this unit's lines count.
    const ours = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('netbox-gate.service'));
    assert.deepEqual(ours, []);
    assert.equal(r.status, 0, r.stderr);
  });

  it('`systemd-analyze verify` does catch a misspelt key (the check above can fail)', () => {
    const bad = join(tmp.path, 'netbox-gate-bad.service');
    writeFileSync(bad, readFileSync(copy, 'utf8').replace('ProtectSystem=strict', 'ProtectSystm=strict'));
    const r = spawnSync('systemd-analyze', ['verify', bad], { encoding: 'utf8' });
    assert.match(r.stderr, /netbox-gate-bad\.service:\d+: Unknown key 'ProtectSystm'/);
  });

  it('`systemd-analyze security --offline` rates its exposure below 2 (of 10)', () => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', copy], { encoding: 'utf8' });
    const m = /Overall exposure level for netbox-gate\.service: (\d+(?:\.\d+)?)/.exec(r.stdout);
    assert.ok(m, r.stdout.slice(-500) + r.stderr);
    assert.ok(Number(m[1]) < 2, `exposure ${m[1]}`);
  });
});
