// Seconds from a SCIM deactivation (Entra's PATCH "Replace" active "False") to NetBox refusing
// the user's own v2 API token ("User inactive"), against a real NetBox 4.7 and the real gateway
// binary. Each round: a SCIM user signs in once (NetBox creates it, managed), makes a token, the
// token works; then the deactivating PATCH, and the token is tried every 10 ms until refused.
// Goal: under 5 s. (Browser sessions ending too is the deprovisioner's part, wired by serve.)
// Run: npx tsc -p tsconfig.json && node build/bench/scim-deactivation.js [--rounds 10] [--out <dir>]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { netboxApi, runNetboxEnvOk, startNetboxEnv } from '../demo/netbox-env.js';
import { parseConfigText } from '../src/config/load.js';
import { compileHeaderPlan } from '../src/netbox/headers.js';
import { cliPath, freePort, spawnOwned, waitUntilOk, writeResult } from './support.js';

const { values: opts } = parseArgs({ options: { rounds: { type: 'string', default: '10' }, out: { type: 'string' } } });
const rounds = Math.max(1, Number(opts.rounds));
const SCIM_TOKEN = 'bench-scim-token-0123456789abcdef';

const nbPort = await freePort();
const gwPort = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'netbox-gate-bench-scim-'));
const yaml = `server:
  publicUrl: http://127.0.0.1:${gwPort}
  listen: 127.0.0.1:${gwPort}
netbox:
  url: http://127.0.0.1:${nbPort}
  api:
    token: \${env:NETBOX_TOKEN}
logging:
  level: warn
scim:
  enabled: true
  tokens: ["\${env:SCIM_TOKEN}"]
sources:
  - kind: oidc
    id: corp
    issuer: https://idp.example.org
    clientId: netbox
policy:
  rules:
    - name: everyone
`;
const configFile = join(dir, 'gate.yaml');
writeFileSync(configFile, yaml);
const env = { ...process.env, NETBOX_TOKEN: 'placeholder', SCIM_TOKEN };
const raFile = join(dir, 'remote-auth.py');
writeFileSync(raFile, execFileSync(process.execPath, [cliPath(), 'netbox-config', '--config', configFile], { env, encoding: 'utf8' }));
await runNetboxEnvOk(['build']);
const nbDir = join(dir, 'netbox');
const nb = await startNetboxEnv({ port: nbPort, dataDir: nbDir, remoteAuthFile: raFile });
const gw = spawnOwned(process.execPath, [cliPath(), 'serve', '--config', configFile], { env: { ...env, NETBOX_TOKEN: nb.adminAuthorization }, stdio: 'ignore' });
const gwUrl = `http://127.0.0.1:${gwPort}`;
const base = `${gwUrl}/.netbox-gate/scim/v2`;
const plan = compileHeaderPlan(parseConfigText(yaml, configFile, { NETBOX_TOKEN: 'x', SCIM_TOKEN }));

const scim = async (method: string, path: string, body?: unknown) => {
  const r = await fetch(`${base}${path}`, { method, headers: { Authorization: `Bearer ${SCIM_TOKEN}`, 'Content-Type': 'application/scim+json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`SCIM ${method} ${path}: ${r.status} ${text}`);
  return text ? (JSON.parse(text) as { id: string }) : undefined;
};
const tokenStatus = async (auth: string) => {
  const r = await fetch(`${nb.url}/api/users/config/`, { headers: { Authorization: auth, Accept: 'application/json' } });
  await r.arrayBuffer();
  return r.status;
};

const results: Array<{ round: number; patchMs: number; refusedMs: number }> = [];
try {
  await waitUntilOk(`${gwUrl}/.netbox-gate/health`, 15_000);
  for (let i = 1; i <= rounds; i++) {
    const username = `bench-user-${i}`;
    const u = (await scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: username, active: true }))!;
    const headers = Object.fromEntries(plan.identityHeaders({ allowed: true, sourceId: 'corp', username, groups: [], superuser: false, staff: false, trace: [] }));
    await (await fetch(`${nb.url}/`, { headers, redirect: 'manual' })).arrayBuffer();
    const user = (await netboxApi(nb.url, nb.adminAuthorization, 'GET', `/api/users/users/?username=${username}`)).body.results[0];
    const t = (await netboxApi(nb.url, nb.adminAuthorization, 'POST', '/api/users/tokens/', { user: user.id })).body;
    const auth = `Bearer nbt_${t.key}.${t.token}`;
    if ((await tokenStatus(auth)) !== 200) throw new Error(`${username}'s token does not work before the deactivation`);
    const t0 = performance.now();
    await scim('PATCH', `/Users/${u.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
    const patchMs = performance.now() - t0;
    let status = await tokenStatus(auth);
    for (let n = 0; status !== 403 && n < 1000; n++) {
      await new Promise((r) => setTimeout(r, 10));
      status = await tokenStatus(auth);
    }
    if (status !== 403) throw new Error(`${username}'s token still works 10 s after the deactivation`);
    results.push({ round: i, patchMs, refusedMs: performance.now() - t0 });
  }
} finally {
  gw.kill('SIGTERM');
  await runNetboxEnvOk(['stop', '--data-dir', nbDir]).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}

const sorted = (k: 'patchMs' | 'refusedMs') => results.map((r) => r[k]).sort((a, b) => a - b);
const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const summary = {
  rounds: results.length,
  patchMs: { median: pct(sorted('patchMs'), 50), max: pct(sorted('patchMs'), 100) },
  refusedMs: { median: pct(sorted('refusedMs'), 50), max: pct(sorted('refusedMs'), 100) },
  goalMs: 5000,
};
console.log('SCIM deactivation → NetBox refuses the token (ms)');
console.log(`  rounds ${summary.rounds}`);
console.log(`  PATCH answered:  median ${summary.patchMs.median.toFixed(0)}  max ${summary.patchMs.max.toFixed(0)}`);
console.log(`  token refused:   median ${summary.refusedMs.median.toFixed(0)}  max ${summary.refusedMs.max.toFixed(0)}  (goal < ${summary.goalMs})`);
console.log(`  written to ${writeResult('scim-deactivation', { summary, results }, opts.out)}`);
