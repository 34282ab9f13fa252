// `serve` loads the code its config uses and no more (issue 11, idle RSS): with one OIDC source,
// the memory store and metrics off, a signed-in gateway has not loaded ldapts, ioredis,
// prom-client, the doctor or the other commands; turning metrics on loads prom-client. The config
// is read by a process of its own (src/config/isolated.ts): the server never loads yaml, zod or
// the schemas, and the process that does is another one.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startDemoIdp, type DemoIdp } from '../../demo/idp.js';
import { startGateway } from '../support/gateway.js';
import { CookieClient, signInThroughDemoIdp } from '../support/http-client.js';
import { freePort } from '../support/ports.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';
import { makeTempDirSync, type TempDir } from '../support/temp.js';

const SECRET = 'serve-modules-secret';

// A module hook (node --import, in NODE_OPTIONS so every Node process of the gateway has it) that
// appends "<pid> <url>" for every module the process loads.
const HOOK = `import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
registerHooks({ load(url, ctx, next) { appendFileSync(process.env.LOADED_MODULES_FILE, process.pid + ' ' + url + '\\n'); return next(url, ctx); } });
`;

/** Never wanted by a gateway with one OIDC source, the memory store and no metrics. */
const UNNEEDED = [
  // The config's parser and schemas: read in a child process.
  '/node_modules/yaml/',
  '/node_modules/zod/',
  '/src/config/load.js',
  '/src/config/schema.js',
  '/src/sources/registry.js',
  '/src/sources/oidc/config.js',
  // jose's index (every JWE/JWS/key module): only the verifying modules are imported.
  '/node_modules/jose/dist/webapi/index.js',
  // SCIM is not enabled.
  '/node_modules/scim2-parse-filter/',
  '/src/scim/service.js',
  '/node_modules/ldapts/', '/node_modules/ioredis/', '/node_modules/prom-client/', '/src/doctor/', '/src/cli/netbox.js', '/src/cli/sessions.js', '/src/cli/hash-password.js', '/src/store/redis.js', '/src/sources/ldap/index.js', '/src/sources/radius/index.js', '/src/sources/tacacs/index.js'];

function config(port: number, issuer: string, upstream: string, metricsPort?: number): string {
  return `server:
  listen: 127.0.0.1:${port}
  publicUrl: http://127.0.0.1:${port}
netbox:
  url: ${upstream}
logging:
  level: info
${metricsPort ? `metrics:\n  listen: 127.0.0.1:${metricsPort}\n` : ''}sources:
  - kind: oidc
    id: demo
    issuer: ${issuer}
    clientId: netbox-gate
    clientSecret: ${SECRET}
    insecureAllowHttpIssuer: true
policy:
  defaultGroups: [netbox-users]
  rules:
    - name: admins
      groups: [netbox-admins]
      superuser: true
`;
}

describe('netbox-gate serve loads only what the config uses', () => {
  let dir: TempDir;
  let hook: string;
  let idp: DemoIdp;
  let up: RecordingUpstream;
  const ports: number[] = [];

  before(async () => {
    dir = makeTempDirSync('netbox-gate-modules-');
    hook = join(dir.path, 'hook.mjs');
    writeFileSync(hook, HOOK);
    ports.push(await freePort(), await freePort());
    idp = await startDemoIdp({ clients: [{ clientId: 'netbox-gate', clientSecret: SECRET, redirectUris: ports.map((p) => `http://127.0.0.1:${p}/.netbox-gate/callback/demo`), postLogoutRedirectUris: [] }] });
    up = await startRecordingUpstream();
  });
  after(async () => {
    await up?.close();
    await idp?.stop();
    dir?.removeSync();
  });

  /** Starts the gateway with the hook, signs in once, stops it; the URLs the serving process and
   * the other processes it started loaded. */
  async function loadedBy(port: number, metricsPort?: number): Promise<{ loaded: string[]; others: string[] }> {
    const file = join(dir.path, `loaded-${port}.txt`);
    writeFileSync(file, '');
    const gw = await startGateway(() => config(port, idp.issuer, up.url, metricsPort), { NODE_OPTIONS: `--import=${pathToFileURL(hook).href}`, LOADED_MODULES_FILE: file }, port);
    try {
      const { res } = await signInThroughDemoIdp(new CookieClient(), gw.url, 'alice', 'alice', '/dcim/sites/');
      await res.body?.cancel();
      assert.equal(res.status, 200, 'the sign-in reaches NetBox');
    } finally {
      await gw.stop();
    }
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]);
    // The serving process is the one that loaded the gateway.
    const server = lines.find(([, url]) => url.endsWith('/build/src/gateway/server.js'))?.[0];
    assert.ok(server, 'a process loaded the gateway');
    return { loaded: lines.filter(([pid]) => pid === server).map(([, url]) => url), others: lines.filter(([pid]) => pid !== server).map(([, url]) => url) };
  }

  it('one OIDC source, memory store, metrics off: no LDAP, Redis, metrics, doctor or other commands', async () => {
    const { loaded, others } = await loadedBy(ports[0]!);
    assert.ok(loaded.some((u) => u.includes('/node_modules/openid-client/')), 'the hook sees the OIDC source load openid-client');
    for (const part of UNNEEDED) assert.deepEqual(loaded.filter((u) => u.includes(part)), [], `${part} is not loaded`);
    // The config was validated, by the schemas `check` uses, in another process.
    for (const part of ['/build/src/config/isolated-child.js', '/node_modules/zod/', '/node_modules/yaml/', '/build/src/config/validate.js']) {
      assert.ok(others.some((u) => u.includes(part)), `the config process loaded ${part}`);
    }
  });

  it('RADIUS, TACACS+, LDAP and upstream sources: their clients load, the config schemas still do not', async () => {
    const port = await freePort();
    const file = join(dir.path, `loaded-${port}.txt`);
    writeFileSync(file, '');
    const gw = await startGateway(
      () => `server:
  listen: 127.0.0.1:${port}
  publicUrl: http://127.0.0.1:${port}
netbox:
  url: ${up.url}
sources:
  - kind: radius
    id: aaa
    servers: [127.0.0.1:1]
    secret: s
  - kind: tacacs
    id: tac
    servers: [127.0.0.1:1]
    secret: s
  - kind: ldap
    id: dir
    urls: [ldap://127.0.0.1:1]
    insecureAllowPlaintext: true
    bindDn: cn=svc
    bindPassword: p
    userSearch: { base: "dc=example,dc=org" }
  - kind: upstream
    id: proxy
    mode: pomerium
    trustedAddresses: [10.0.3.7/32]
    jwt: { jwksUrl: "http://127.0.0.1:1/jwks.json", insecureAllowHttpJwks: true, issuer: x, audience: x }
policy:
  rules:
    - name: all
      users: [{ glob: "*" }]
`,
      { NODE_OPTIONS: `--import=${pathToFileURL(hook).href}`, LOADED_MODULES_FILE: file },
      port,
    );
    await gw.stop();
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]);
    const server = lines.find(([, url]) => url.endsWith('/build/src/gateway/server.js'))?.[0];
    const loaded = lines.filter(([pid]) => pid === server).map(([, url]) => url);
    for (const kind of ['radius', 'tacacs', 'ldap', 'upstream']) assert.ok(loaded.some((u) => u.endsWith(`/build/src/sources/${kind}/index.js`)), `the ${kind} source is built`);
    const schemas = ['radius', 'tacacs', 'ldap', 'upstream'].map((kind) => `/src/sources/${kind}/config.js`);
    for (const part of ['/node_modules/yaml/', '/node_modules/zod/', '/src/sources/registry.js', ...schemas]) assert.deepEqual(loaded.filter((u) => u.includes(part)), [], `${part} is not loaded`);
  });

  it('metrics on: prom-client is loaded', async () => {
    const { loaded } = await loadedBy(ports[1]!, await freePort());
    assert.ok(loaded.some((u) => u.includes('/node_modules/prom-client/')));
  });
});
