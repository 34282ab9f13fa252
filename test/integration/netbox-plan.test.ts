// `netbox-gate netbox plan|apply` and `check --netbox` (the real binary) against a real NetBox
// 4.7 whose settings come from `netbox-config` with netbox.createGroups false: creates on an
// empty NetBox, convergence, drift made in NetBox reverted, unmarked objects left alone,
// removals, unknown object types named with their config line, and typos in mapped groups.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startNetboxForGateway } from '../support/gateway.js';
import type { NetboxInstance } from '../support/netbox.js';
import { freePort } from '../support/ports.js';
import { cliPath, repoRoot } from '../support/repo.js';
import { makeTempDirSync } from '../support/temp.js';

const tmp = makeTempDirSync('netbox-gate-plan-');
after(() => tmp.remove());
const configFile = join(tmp.path, 'gate.yaml');

const PERMISSIONS = `netboxObjects:
  groups:
    - name: Network Engineers
      description: Edits sites
    - name: Auditors
  permissions:
    - name: network-engineers-sites
      description: Sites, nothing else
      objectTypes: [dcim.site]
      actions: [view, add, change]
      groups: [Network Engineers]
    - name: auditors-view-active
      objectTypes: [dcim.site, dcim.device]
      actions: [view]
      constraints: { status: active }
      groups: [Auditors]
`;

const config = (netboxUrl: string, objects: string, extraRules = '') => `server:
  publicUrl: http://127.0.0.1:8080
netbox:
  url: ${netboxUrl}
  createGroups: false
  api:
    token: \${env:NETBOX_TOKEN}
sources:
  - kind: oidc
    id: corp
    issuer: https://idp.example.org
    clientId: netbox
policy:
  rules:
    - name: engineers
      groups: [eng]
      netboxGroups: [Network Engineers]
${extraRules}${objects}`;

describe('netbox plan / apply against NetBox 4.7', { timeout: 10 * 60_000 }, () => {
  let nb: NetboxInstance;
  let url: string;

  const run = (args: string[], yaml?: string) => {
    if (yaml !== undefined) writeFileSync(configFile, yaml);
    const env = { ...process.env, NETBOX_TOKEN: nb.adminAuthorization, NETBOX_GATE_API_TOKEN: nb.adminAuthorization, NETBOX_GATE_OIDC_SECRET: 'x' };
    const r = spawnSync(process.execPath, [cliPath(), ...args, '--config', configFile], { env, encoding: 'utf8' });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const perm = async (name: string) => (await nb.api('GET', `/api/users/permissions/?name=${encodeURIComponent(name)}`)).body.results[0];
  const group = async (name: string) => (await nb.api('GET', `/api/users/groups/?name=${encodeURIComponent(name)}`)).body.results[0];

  before(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    nb = await startNetboxForGateway(config(url, ''), { NETBOX_TOKEN: 'placeholder' }, port);
  });
  after(async () => {
    await nb?.stop();
  });

  it('plan on an empty NetBox shows every create, field by field, and exits 2', () => {
    const r = run(['netbox', 'plan'], config(url, PERMISSIONS));
    assert.equal(r.code, 2, r.out + r.err);
    const lines = r.out.split('\n');
    for (const want of [
      /^\+ create group "Network Engineers"  \[netboxObjects\.groups\.0 \(.*gate\.yaml:\d+\)\]$/,
      /^    description: "Edits sites \[managed by netbox-gate\]"$/,
      /^\+ create group "Auditors"/,
      // createGroups: false, so the gateway's own groups must exist too.
      /^\+ create group "netbox-gate-managed"  \[netbox\.managedGroup/,
      /^\+ create group "netbox-gate-superusers"  \[netbox\.superuserGroup/,
      /^\+ create permission "network-engineers-sites"/,
      /^    actions: \["add","change","view"\]$/,
      /^    constraints: \{"status":"active"\}$/,
      /^Plan: 6 to create, 0 to update, 0 to delete\.$/,
    ]) {
      assert.ok(lines.some((l) => want.test(l)), `${want} not in:\n${r.out}`);
    }
  });

  it('apply creates them; plan is then empty and exits 0', async () => {
    const a = run(['netbox', 'apply']);
    assert.equal(a.code, 0, a.out + a.err);
    assert.match(a.out, /^created permission "network-engineers-sites" \(id \d+\)$/m);
    assert.match(a.out, /^Applied: 6 changes\.$/m);
    const p = await perm('network-engineers-sites');
    assert.deepEqual([p.description, [...p.actions].sort(), p.object_types, p.groups.map((g: { name: string }) => g.name)], ['Sites, nothing else [managed by netbox-gate]', ['add', 'change', 'view'], ['dcim.site'], ['Network Engineers']]);
    assert.deepEqual((await perm('auditors-view-active')).constraints, { status: 'active' });
    const again = run(['netbox', 'plan']);
    assert.equal(again.code, 0, again.out + again.err);
    assert.equal(again.out.trim(), 'No changes: NetBox matches netboxObjects.');
  });

  it('an edit made in NetBox shows up as drift and apply reverts it', async () => {
    const p = await perm('network-engineers-sites');
    const admin = (await nb.api('GET', '/api/users/users/?username=admin')).body.results[0];
    const edit = await nb.api('PATCH', `/api/users/permissions/${p.id}/`, { actions: ['view', 'add', 'change', 'delete'], enabled: false, users: [admin.id] });
    assert.equal(edit.status, 200, JSON.stringify(edit.body));
    const r = run(['netbox', 'plan']);
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(r.out, new RegExp(`^~ update permission "network-engineers-sites" \\(id ${p.id}\\)`, 'm'));
    assert.match(r.out, /^    enabled: false -> true$/m);
    assert.match(r.out, /^    actions: \["add","change","delete","view"\] -> \["add","change","view"\]$/m);
    assert.match(r.out, /^    users: \["admin"\] -> \[\]$/m);
    assert.equal(run(['netbox', 'apply']).code, 0);
    const back = await perm('network-engineers-sites');
    assert.deepEqual([back.enabled, [...back.actions].sort(), back.users], [true, ['add', 'change', 'view'], []]);
    assert.equal(run(['netbox', 'plan']).code, 0);
  });

  it('objects not marked managed are untouched: never removed, and a declared name is a conflict until adopted', async () => {
    const g = await nb.api('POST', '/api/users/groups/', { name: 'Operators', description: 'made by hand' });
    assert.equal(g.status, 201);
    const hp = await nb.api('POST', '/api/users/permissions/', { name: 'hand-made', object_types: ['dcim.site'], actions: ['view'], groups: [g.body.id] });
    assert.equal(hp.status, 201);
    // Not in the config and not marked: not part of the plan at all.
    assert.equal(run(['netbox', 'plan']).code, 0);

    const withOperators = PERMISSIONS.replace('  permissions:\n', '    - name: Operators\n      description: Runs the network\n  permissions:\n');
    const conflict = run(['netbox', 'plan'], config(url, withOperators));
    assert.equal(conflict.code, 1, conflict.out + conflict.err);
    assert.match(conflict.out, /^! conflict: netboxObjects\.groups\.2\.name: NetBox has a group "Operators" that is not managed by netbox-gate .* set adopt: true to take it over \(.*gate\.yaml:\d+\)$/m);
    const refused = run(['netbox', 'apply']);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /nothing applied/);
    assert.equal((await group('Operators')).description, 'made by hand');

    const adopted = run(['netbox', 'apply'], config(url, withOperators.replace('      description: Runs the network\n', '      description: Runs the network\n      adopt: true\n')));
    assert.equal(adopted.code, 0, adopted.out + adopted.err);
    assert.equal((await group('Operators')).description, 'Runs the network [managed by netbox-gate]');
    // The hand-made permission that uses the adopted group is still not ours.
    assert.equal((await perm('hand-made')).description, '');
  });

  it('an object removed from the config is deleted when managed; hand-made ones stay', async () => {
    const without = PERMISSIONS.replace(/    - name: auditors-view-active[\s\S]*$/, '');
    const r = run(['netbox', 'plan'], config(url, without));
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(r.out, /^- delete permission "auditors-view-active" \(id \d+\): managed by netbox-gate and no longer in the config$/m);
    assert.match(r.out, /^- delete group "Operators" \(id \d+\)/m);
    assert.equal(run(['netbox', 'apply']).code, 0);
    assert.equal(await perm('auditors-view-active'), undefined);
    assert.ok(await perm('hand-made'));
    assert.ok(await perm('network-engineers-sites'));
  });

  it('an unknown object type is an error naming the field and the config line (with a suggestion)', () => {
    const typo = PERMISSIONS.replace('objectTypes: [dcim.site, dcim.device]', 'objectTypes: [dcim.site, dcim.devices]').replace('groups: [Auditors]', 'groups: [Auditors, Nobody]');
    const r = run(['netbox', 'plan'], config(url, typo));
    assert.equal(r.code, 1, r.out + r.err);
    const line = typo.split('\n').findIndex((l) => l.includes('dcim.devices')) + config(url, '').split('\n').length;
    assert.match(r.out, new RegExp(`^! error: netboxObjects\\.permissions\\.1\\.objectTypes\\.1: unknown object type "dcim\\.devices": NetBox has no such type; did you mean "dcim\\.device"\\? \\(.*gate\\.yaml:${line}\\)$`, 'm'));
    assert.match(r.out, /^! error: netboxObjects\.permissions\.1\.groups\.1: group "Nobody" is neither declared in netboxObjects\.groups nor present in NetBox/m);
    assert.equal(run(['netbox', 'apply']).code, 1);
  });

  it('with createGroups false NetBox skips groups it lacks, and check --netbox names them with their line', async () => {
    const typoRule = `    - name: auditors
      groups: [audit]
      netboxGroups: [Auditers]
`;
    const r = run(['check', '--netbox'], config(url, PERMISSIONS, typoRule));
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, /^policy\.rules\.1\.netboxGroups\.0: group "Auditers" does not exist in NetBox \(NetBox will skip it \(netbox\.createGroups is false\); a typo\?\) \(.*gate\.yaml:\d+\)$/m);
    assert.doesNotMatch(r.err, /Network Engineers/);
    // What NetBox does with such a group in the header: skips it, keeps the ones it has.
    const res = await fetch(`${nb.url}/`, { headers: { 'X-Remote-User': 'dave', 'X-Remote-User-Groups': 'Network Engineers|Auditers|netbox-gate-managed' }, redirect: 'manual' });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const dave = (await nb.api('GET', '/api/users/users/?username=dave')).body.results[0];
    assert.deepEqual(dave.groups.map((g: { name: string }) => g.name).sort(), ['Network Engineers', 'netbox-gate-managed']);
    assert.equal(await group('Auditers'), undefined);
    const ok = run(['check', '--netbox'], config(url, PERMISSIONS));
    assert.equal(ok.code, 0, ok.out + ok.err);
    assert.match(ok.out, /NetBox has every group the policy maps to\./);
  });

  it('examples/permissions.yaml is real: NetBox knows every type it names, and it applies', () => {
    const example = readFileSync(join(repoRoot(), 'examples', 'permissions.yaml'), 'utf8').replace('url: http://127.0.0.1:8001', `url: ${url}`);
    const r = run(['netbox', 'plan'], example);
    assert.equal(r.code, 2, r.out + r.err);
    assert.doesNotMatch(r.out, /^! /m);
    const a = run(['netbox', 'apply']);
    assert.equal(a.code, 0, a.out + a.err);
    assert.equal(run(['netbox', 'plan']).code, 0);
  });
});
