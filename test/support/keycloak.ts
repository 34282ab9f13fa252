// A private Keycloak (Quarkus dist from scripts/deps/keycloak.sh) in dev mode on a free 127.0.0.1
// port, with the `netbox` test realm imported and an in-memory database; stop() ends it.
import { cp, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpOk, startDaemon } from './daemon.js';
import { freePort } from './ports.js';
import { makeTempDir, type TempDir } from './temp.js';

export const KEYCLOAK_VERSION = process.env.KC_VERSION ?? '26.5.6';
export const REALM = 'netbox';

/** Clients in test/support/keycloak-realm.json and what each is for. */
export const CLIENTS = {
  /** The seed's setup: Audience mapper + Group Membership mapper, full path OFF. */
  netbox: { clientId: 'netbox', secret: 'netbox-secret' },
  /** Group Membership mapper with full path ON. */
  fullpath: { clientId: 'netbox-fullpath', secret: 'netbox-fullpath-secret' },
  /** The seed's "InvalidAudienceError": no Audience mapper. */
  noaud: { clientId: 'netbox-noaud', secret: 'netbox-noaud-secret' },
  /** No Group Membership mapper at all. */
  nogroups: { clientId: 'netbox-nogroups', secret: 'netbox-nogroups-secret' },
} as const;

export const USERS = {
  admin: { username: 'admin-user', password: 'admin-pass', email: 'admin-user@example.test', firstName: 'Ada', lastName: 'Admin' },
  dev: { username: 'dev-user', password: 'dev-pass', email: 'dev-user@example.test', firstName: 'Dev', lastName: 'Eloper' },
  nested: { username: 'nested-user', password: 'nested-pass', email: 'nested-user@example.test', firstName: 'Nora', lastName: 'Nested' },
  /** In no group: Keycloak then sends no groups claim at all. */
  plain: { username: 'plain-user', password: 'plain-pass', email: 'plain-user@example.test', firstName: 'Paul', lastName: 'Plain' },
} as const;

export interface Keycloak {
  url: string;
  issuer: string;
  port: number;
  /** Milliseconds from spawn to the realm's discovery document answering. */
  startupMs: number;
  output(): string;
  stop(): Promise<void>;
}

export interface TokenResponse {
  access_token: string;
  id_token: string;
  refresh_token?: string;
  token_type: string;
  expires_in: number;
}

const REALM_FILE = fileURLToPath(new URL('../../../test/support/keycloak-realm.json', import.meta.url));

export function keycloakHome(): string {
  const home = process.env.KEYCLOAK_HOME ?? `/var/cache/netbox-gate/keycloak-${KEYCLOAK_VERSION}`;
  if (!existsSync(join(home, 'bin', 'kc.sh'))) {
    throw new Error(`Keycloak ${KEYCLOAK_VERSION} is not installed at ${home}: run scripts/deps/keycloak.sh (as root) or set KEYCLOAK_HOME`);
  }
  return home;
}

/** A JDK of version 21 or newer (Keycloak 26 needs it): JAVA_HOME if it qualifies, else /usr/lib/jvm/*. */
export async function java21Home(): Promise<string> {
  const major = (home: string): number => {
    try {
      const m = /JAVA_VERSION="(\d+)/.exec(readFileSync(join(home, 'release'), 'utf8'));
      return m ? Number(m[1]) : 0;
    } catch {
      return 0;
    }
  };
  if (process.env.JAVA_HOME && major(process.env.JAVA_HOME) >= 21) return process.env.JAVA_HOME;
  const dirs = (await readdir('/usr/lib/jvm').catch(() => [] as string[])).map((d) => join('/usr/lib/jvm', d));
  const best = dirs.map((d) => ({ d, v: major(d) })).filter((x) => x.v >= 21).sort((a, b) => b.v - a.v)[0];
  if (!best) throw new Error('no Java 21+ under /usr/lib/jvm; run scripts/deps/keycloak.sh');
  return best.d;
}

/**
 * A private Keycloak home: small writable parts copied (conf, lib/quarkus, which dev mode
 * re-augments into), the 160 MB of jars and themes linked, so parallel runs never share writes.
 */
async function privateHome(dist: string, realm: object): Promise<TempDir> {
  const tmp = await makeTempDir('netbox-gate-keycloak-');
  try {
    await fillHome(tmp.path, dist, realm);
  } catch (err) {
    await tmp.remove();
    throw err;
  }
  return tmp;
}

async function fillHome(home: string, dist: string, realm: object): Promise<void> {
  await mkdir(join(home, 'bin'));
  await mkdir(join(home, 'lib'));
  await mkdir(join(home, 'providers'));
  await mkdir(join(home, 'data', 'import'), { recursive: true });
  await cp(join(dist, 'bin', 'kc.sh'), join(home, 'bin', 'kc.sh'));
  await cp(join(dist, 'conf'), join(home, 'conf'), { recursive: true });
  await cp(join(dist, 'lib', 'quarkus-run.jar'), join(home, 'lib', 'quarkus-run.jar'));
  await cp(join(dist, 'lib', 'quarkus'), join(home, 'lib', 'quarkus'), { recursive: true });
  await cp(join(dist, 'lib', 'app'), join(home, 'lib', 'app'), { recursive: true });
  await symlink(join(dist, 'lib', 'lib'), join(home, 'lib', 'lib'));
  await symlink(join(dist, 'themes'), join(home, 'themes'));
  await writeFile(join(home, 'data', 'import', `${REALM}-realm.json`), JSON.stringify(realm));
}

export async function testRealm(): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(REALM_FILE, 'utf8')) as Record<string, unknown>;
}

export async function startKeycloak(opts: { realm?: object; readyTimeoutMs?: number } = {}): Promise<Keycloak> {
  const dist = keycloakHome();
  const javaHome = await java21Home();
  const home = await privateHome(dist, opts.realm ?? (await testRealm()));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const issuer = `${url}/realms/${REALM}`;
  const started = Date.now();
  const daemon = await startDaemon({
    name: 'Keycloak',
    cmd: join(home.path, 'bin', 'kc.sh'),
    args: ['start-dev', '--http-port', String(port), '--http-host', '127.0.0.1', '--import-realm', '--http-management-port', String(await freePort())],
    // Own process group: kc.sh starts java as a child, and stop() must end both.
    processGroup: true,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home.path,
      JAVA_HOME: javaHome,
      JAVA_OPTS_KC_HEAP: '-Xms64m -Xmx512m',
      KC_DB: 'dev-mem',
      KC_BOOTSTRAP_ADMIN_USERNAME: 'admin',
      KC_BOOTSTRAP_ADMIN_PASSWORD: 'admin-bootstrap-pass',
      KC_LOG_LEVEL: 'info',
    },
    ready: httpOk(`${issuer}/.well-known/openid-configuration`),
    timeoutMs: opts.readyTimeoutMs ?? 240_000,
    pollMs: 500,
    stopGraceMs: 15_000,
    maxOutputChars: 64_000,
    cleanup: () => home.remove(),
  });
  return { url, issuer, port, startupMs: Date.now() - started, output: () => daemon.output(), stop: () => daemon.stop() };
}

/** Resource-owner password grant (the test clients have direct access grants on). */
export async function passwordGrant(
  kc: Pick<Keycloak, 'issuer'>,
  client: { clientId: string; secret: string },
  user: { username: string; password: string },
  scope = 'openid profile email',
): Promise<TokenResponse> {
  const res = await fetch(`${kc.issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: client.clientId,
      client_secret: client.secret,
      username: user.username,
      password: user.password,
      scope,
    }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as TokenResponse & { error?: string; error_description?: string };
  if (!res.ok) throw new Error(`password grant for ${user.username} at ${client.clientId} failed: ${res.status} ${body.error ?? ''} ${body.error_description ?? ''}`);
  return body;
}
