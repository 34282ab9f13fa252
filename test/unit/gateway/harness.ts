// The gateway in-process, for tests of the request pipeline without sleeps: a movable clock,
// scripted sources (a redirect "IdP" and a password source whose answers the test sets), and a
// recording upstream (a real HTTP server on loopback standing where NetBox would).
// Real identity providers and NetBox are exercised by the integration and e2e suites.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseConfigText, type GateConfig } from '../../../src/config/load.js';
import { GateError } from '../../../src/errors.js';
import { createGateway, type Gateway } from '../../../src/gateway/server.js';
import type { PasswordSource, RedirectSource, SignInResult, SourceState } from '../../../src/sources/source.js';
import type { GatewayMetrics } from '../../../src/metrics/hooks.js';
import { createMemoryStore } from '../../../src/store/memory.js';
import type { KeyValueStore } from '../../../src/store/store.js';
import type { Identity } from '../../../src/types.js';
import { recordingLogger } from '../../support/logger.js';
import { startRecordingUpstream, type SeenRequest } from '../../support/upstream.js';

export type Seen = SeenRequest;

export type RefreshBehaviour = 'ok' | 'unavailable' | 'rejected';

export interface Script {
  /** Users the scripted IdP knows: code "u:<name>" signs that user in. */
  users: Record<string, { groups: string[]; refreshToken?: boolean; username?: string }>;
  refresh: RefreshBehaviour;
  refreshCalls: number;
  /** What the password source throws for any credentials, when set. */
  passwordError?: GateError;
  /** Upstream answers for paths (default: 200 JSON). */
  upstream(req: SeenRequest, res: http.ServerResponse): boolean;
}

export interface Harness {
  url: string;
  gw: Gateway;
  seen: Seen[];
  logs: Array<Record<string, unknown>>;
  script: Script;
  clock: { t: number; advance(ms: number): void };
  /** A cookie jar client that never follows redirects. */
  client(): Client;
  /** The harness config with other options (same ports and sources), e.g. for gw.reload(). */
  config(opts?: HarnessOptions): GateConfig;
  /** The recording upstream's URL. */
  upstreamUrl: string;
  /** Keys the gateway currently holds in its session store. */
  storeKeys(): number;
  close(): Promise<void>;
}

export class Client {
  jar = new Map<string, string>();
  constructor(private base: string) {}
  async req(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (this.jar.size > 0 && headers.Cookie === undefined) headers.Cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const r = init.body === undefined ? { method: init.method ?? 'GET', headers } : { method: init.method ?? 'POST', headers, body: init.body };
    const res = await fetch(new URL(path, this.base), { ...r, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || /max-age=0/i.test(line)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return res;
  }
  /** Page request as a browser makes it. */
  page(path: string, headers: Record<string, string> = {}) {
    return this.req(path, { headers: { Accept: 'text/html', ...headers } });
  }
  /** Signs in through the scripted IdP; returns the callback's answer (a redirect to `next`). */
  async signIn(user: string, next = '/'): Promise<Response> {
    const start = await this.page(`/.netbox-gate/login/idp?next=${encodeURIComponent(next)}`);
    const auth = new URL(start.headers.get('location')!);
    return this.page(`/.netbox-gate/callback/idp?code=u:${encodeURIComponent(user)}&state=${auth.searchParams.get('state')}`);
  }
}

function identity(sourceId: string, username: string, groups: string[]): Identity {
  return { sourceId, sourceKind: 'oidc', subject: username, username, groups, attributes: { groups } };
}

export interface HarnessOptions {
  sessions?: string;
  extraYaml?: string;
  /** Extra lines of the `server:` section (indented by two spaces). */
  server?: string;
  /** Extra lines of the `netbox:` section (indented by two spaces). */
  netbox?: string;
  /** signIn section body (indented by two spaces). */
  signIn?: string;
  metrics?: GatewayMetrics;
  store?: KeyValueStore;
  retireGraceMs?: number;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const script: Script = { users: {}, refresh: 'ok', refreshCalls: 0, upstream: () => false };
  const upstream = await startRecordingUpstream((req, res) => {
    if (script.upstream(req, res)) return true;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ ok: true }));
    return true;
  });
  const seen = upstream.seen;
  const upUrl = upstream.url;

  const clock = {
    t: Date.UTC(2026, 11, 6, 12),
    advance(ms: number) {
      clock.t += ms;
    },
  };
  const now = () => clock.t;
  const logger = recordingLogger();

  // The port is only known after listen, and publicUrl must name it: listen on a probe first.
  const probe = http.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));

  const yamlFor = (o: HarnessOptions) => `server:
  listen: 127.0.0.1:${port}
  publicUrl: http://127.0.0.1:${port}
${o.server ?? ''}
netbox:
  url: ${upUrl}
${o.netbox ?? ''}
sessions:
${o.sessions ?? '  idleTimeout: 8h'}
${o.signIn ? `signIn:\n${o.signIn}` : ''}
sources:
  - kind: oidc
    id: idp
    displayName: Scripted IdP
    issuer: http://idp.invalid
    insecureAllowHttpIssuer: true
    clientId: gw
    refreshInterval: 5m
  - kind: radius
    id: aaa
    displayName: Scripted AAA
    servers: [127.0.0.1]
    secret: s3cret-s3cret-s3cret
policy:
  rules:
    - name: users
      groups: [users]
      netboxGroups: [NetBox Users]
    - name: admins
      groups: [admins]
      superuser: true
${o.extraYaml ?? ''}`;
  const config = (o: HarnessOptions = {}) => parseConfigText(yamlFor(o), '/virtual/netbox-gate.yaml', {});
  const cfg = config(opts);

  const redirectSource: RedirectSource = {
    id: 'idp',
    kind: 'oidc',
    flow: 'redirect',
    displayName: 'Scripted IdP',
    refreshInterval: 5 * 60_000,
    identityFromAttributes: () => {
      throw new Error('not used');
    },
    async beginSignIn(redirectUri) {
      const state = Math.random().toString(36).slice(2);
      return { authorizationUrl: `http://idp.invalid/auth?state=${state}&redirect_uri=${encodeURIComponent(redirectUri)}`, pending: { state } };
    },
    async completeSignIn(callbackUrl, pending) {
      if (callbackUrl.searchParams.get('state') !== pending.state) throw new GateError('ERR_AUTH_FAILED', 'state mismatch');
      const code = callbackUrl.searchParams.get('code') ?? '';
      const name = code.startsWith('u:') ? code.slice(2) : '';
      const u = script.users[name];
      if (!u) throw new GateError('ERR_AUTH_REJECTED', 'unknown user');
      const state: SourceState = { user: name };
      if (u.refreshToken !== false) state.refreshToken = `rt-${name}`;
      return { identity: identity('idp', u.username ?? name, u.groups), state };
    },
    canRefresh: (s) => typeof s.refreshToken === 'string',
    async refresh(state): Promise<SignInResult> {
      script.refreshCalls++;
      if (script.refresh === 'unavailable') throw new GateError('ERR_SOURCE_UNAVAILABLE', 'IdP down');
      if (script.refresh === 'rejected') throw new GateError('ERR_AUTH_REJECTED', 'grant revoked');
      const name = String(state.user);
      const u = script.users[name]!;
      return { identity: identity('idp', u.username ?? name, u.groups), state };
    },
    async close() {},
  };
  const passwordSource: PasswordSource = {
    id: 'aaa',
    kind: 'radius',
    flow: 'password',
    displayName: 'Scripted AAA',
    identityFromAttributes: () => {
      throw new Error('not used');
    },
    async authenticate(username, password) {
      if (script.passwordError) throw script.passwordError;
      const u = script.users[username];
      if (!u || password !== username) throw new GateError('ERR_AUTH_REJECTED', 'bad credentials');
      return { identity: { ...identity('aaa', username, u.groups), sourceKind: 'radius' }, state: {} };
    },
    async close() {},
  };

  const inner = opts.store ?? createMemoryStore({ now });
  const keys = new Set<string>();
  const store: KeyValueStore = {
    ...inner,
    get: (k) => inner.get(k),
    set: (k, v, ttl) => (keys.add(k), inner.set(k, v, ttl)),
    delete: (k) => (keys.delete(k), inner.delete(k)),
    take: (k) => (keys.delete(k), inner.take(k)),
    close: () => inner.close(),
  };
  const gw = createGateway(cfg, {
    logger,
    store,
    now,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.retireGraceMs !== undefined ? { retireGraceMs: opts.retireGraceMs } : {}),
    createSource: (c) => (c.id === 'idp' ? redirectSource : c.id === 'aaa' ? passwordSource : undefined),
  });
  const addr = await gw.listen(port);
  const url = `http://127.0.0.1:${addr.port}`;
  return {
    url,
    gw,
    seen,
    get logs() {
      return logger.records.map((r) => ({ level: r.level, ...r.obj, msg: r.msg }));
    },
    script,
    clock,
    client: () => new Client(url),
    config,
    upstreamUrl: upUrl,
    storeKeys: () => keys.size,
    async close() {
      await gw.close();
      await upstream.close();
    },
  };
}
