// The whole config file as zod schemas (strict: unknown keys are errors). One section per
// concern; the source entries' schemas come from the source registry (src/sources/registry.ts).
import { z } from 'zod';
import { policySchema } from '../policy/schema.js';
import { sourceSchema, sourceSchemas, type SourceConfig } from '../sources/registry.js';
import { trustedBlockSchema } from './address-schema.js';
import { decodeEncryptionKey } from './encryption-key.js';
import { duration, hostPort, httpUrl, secret } from './common.js';
import { netboxObjectsSchema } from '../netbox/objects/schema.js';
import { lifecycleSchema } from '../lifecycle/schema.js';

export { sourceSchema, sourceSchemas, type SourceConfig };

/** Header names we inject: letters, digits and hyphens only (gunicorn drops `_`). */
const headerName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'use letters, digits and "-" only: gunicorn drops headers with "_" and Django maps "_" and "-" to the same name');

export const serverSchema = z.strictObject({
  listen: hostPort(8080).prefault('127.0.0.1:8080'),
  /** The URL users type; cookies, redirects and the OIDC callback derive from it. */
  publicUrl: httpUrl,
  tls: z.strictObject({ certFile: z.string().min(1), keyFile: z.string().min(1) }).optional(),
  /** Peers whose X-Forwarded-For/-Proto/-Host are believed (a TLS terminator, a load balancer). */
  trustedProxies: z.array(trustedBlockSchema).default([]),
  /** Reserved prefix for the gateway's own pages; NetBox has no URL starting with a dot. */
  pathPrefix: z.string().regex(/^\/\.[a-z0-9-]+$/, 'must look like "/.netbox-gate"').default('/.netbox-gate'),
  /** On SIGTERM: how long requests in flight (a long export) may take to finish before they are cut. */
  shutdownTimeout: duration.prefault('30s'),
  // ---- exposure limits (issue 8): what one client can hold of the gateway ----
  /** Deadlines for clients; a client past one gets 408 and its connection is closed. */
  timeouts: z
    .strictObject({
      /** The request line and headers must arrive within this; also how long a new connection may stay silent. */
      headers: duration.prefault('30s'),
      /** The whole request, body included, must arrive within this: generous, for large uploads. */
      request: duration.prefault('1h'),
      /** No byte from the client for this long while its request arrives, or a stalled response: closed. */
      idle: duration.prefault('2m'),
      /** An idle keep-alive connection between requests is closed after this. */
      keepAlive: duration.prefault('5s'),
    })
    .prefault({})
    .superRefine((t, ctx) => {
      if (t.request < t.headers) ctx.addIssue({ code: 'custom', path: ['request'], message: 'must be at least timeouts.headers' });
    }),
  /** Open client connections at most; more are refused with 503 (TLS: closed). */
  maxConnections: z.number().int().min(1).default(4096),
  /**
   * Open connections from one client address at most (not applied to trustedProxies, which
   * carry many clients); more are refused with 503 (TLS: closed).
   */
  maxConnectionsPerClient: z.number().int().min(1).default(256),
});

export const netboxSchema = z.strictObject({
  url: httpUrl,
  /** Major.minor; below 4.5 NetBox still has is_staff (REMOTE_AUTH_STAFF_GROUPS). */
  version: z.string().regex(/^\d+\.\d+$/, 'expected major.minor such as "4.7"').default('4.7'),
  headers: z
    .strictObject({
      user: headerName.default('X-Remote-User'),
      email: headerName.default('X-Remote-User-Email'),
      firstName: headerName.default('X-Remote-User-First-Name'),
      lastName: headerName.default('X-Remote-User-Last-Name'),
      groups: headerName.default('X-Remote-User-Groups'),
    })
    .prefault({}),
  /** NetBox's REMOTE_AUTH_GROUP_SEPARATOR; NetBox does not trim around it. */
  groupSeparator: z.string().min(1).default('|'),
  /** The group the gateway sends for superusers; listed in REMOTE_AUTH_SUPERUSER_GROUPS. */
  superuserGroup: z.string().min(1).max(150).default('netbox-gate-superusers'),
  staffGroup: z.string().min(1).max(150).default('netbox-gate-staff'),
  sessionCookie: z.string().min(1).default('sessionid'),
  csrfCookie: z.string().min(1).default('csrftoken'),
  logoutPath: z.string().startsWith('/').default('/logout/'),
  loginPath: z.string().startsWith('/').default('/login/'),
  /** NetBox must answer within this; the wait for a free connection to NetBox counts against it. */
  timeout: duration.prefault('120s'),
  /**
   * Connections to NetBox, in two pools so API-token traffic (which needs no gateway sign-in)
   * can never take the connections signed-in users need.
   */
  connections: z
    .strictObject({
      /** Pool for signed-in users' requests (and the gateway's own NetBox calls). */
      signedIn: z.number().int().min(1).default(192),
      /** Pool for API-token requests; a token request when all are busy gets 503. */
      token: z.number().int().min(1).default(64),
      /** API-token requests in flight from one client address; more get 429. */
      tokenPerClient: z.number().int().min(1).default(16),
    })
    .prefault({}),
  /**
   * The group the gateway adds to every user's groups header: NetBox's group sync then records
   * in NetBox itself which users arrived through the gateway. Only members are ever changed
   * through the API (docs/netbox-api.md).
   */
  managedGroup: z.string().min(1).max(150).default('netbox-gate-managed'),
  /** REMOTE_AUTH_AUTO_CREATE_GROUPS: false makes NetBox skip groups it does not have (`check --netbox` names them). */
  createGroups: z.boolean().default(true),
  /** NetBox's REST API, for deprovisioning and `netbox plan/apply` (docs/netbox-api.md). */
  api: z
    .strictObject({
      /** A v2 (`nbt_<key>.<token>`) or v1 (40 hex) token; the kind is told from the value, as NetBox does. */
      token: secret,
      /** Default: netbox.url. */
      url: httpUrl.optional(),
      timeout: duration.prefault('10s'),
    })
    .optional(),
});

const encryptionKey = z
  .string()
  .refine((s) => decodeEncryptionKey(s) !== undefined, 'must be 32 random bytes written as 64 hex digits or 44 base64 characters (make one with: openssl rand -base64 32)');

const redisUrl = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return (u.protocol === 'redis:' || u.protocol === 'rediss:') && u.hostname !== '';
  } catch {
    return false;
  }
}, 'expected a redis://host[:port][/db] or rediss:// URL');

export const redisStoreSchema = z
  .strictObject({
    type: z.literal('redis'),
    /** redis://[user:password@]host[:port][/db]; rediss:// for TLS. Or sentinels + name. */
    url: redisUrl.optional(),
    sentinels: z.array(hostPort(26379)).min(1).optional(),
    /** The primary's name the sentinels monitor. */
    name: z.string().min(1).optional(),
    username: z.string().min(1).optional(),
    password: secret.optional(),
    sentinelPassword: secret.optional(),
    /** TLS in Sentinel mode (with a url, rediss:// says it). */
    tls: z.boolean().default(false),
    /** Every key the gateway writes starts with it, so several gateways can share one Redis. */
    keyPrefix: z.string().max(100).default('netbox-gate:'),
    connectTimeout: duration.prefault('5s'),
    /** A command not answered within it fails (the request gets a 503) instead of hanging. */
    commandTimeout: duration.prefault('2s'),
  })
  .superRefine((s, ctx) => {
    if (s.url && s.sentinels) ctx.addIssue({ code: 'custom', path: ['sentinels'], message: 'give either url or sentinels (with name), not both' });
    if (!s.url && !s.sentinels) ctx.addIssue({ code: 'custom', path: ['url'], message: 'required: a redis:// or rediss:// URL, or sentinels with name' });
    if (s.sentinels && !s.name) ctx.addIssue({ code: 'custom', path: ['name'], message: 'required with sentinels: the name of the primary the sentinels monitor' });
    if (s.url && (s.name || s.tls)) ctx.addIssue({ code: 'custom', path: [s.name ? 'name' : 'tls'], message: 'only with sentinels (with a url, use rediss:// for TLS)' });
  });

export const sessionsSchema = z.strictObject({
  cookieName: z.string().regex(/^[A-Za-z0-9_-]+$/).default('netbox_gate'),
  idleTimeout: duration.prefault('8h'),
  absoluteTimeout: duration.prefault('24h'),
  /**
   * How long a session may go on while its source cannot be asked (IdP, Graph or LDAP down):
   * past it the session ends, so a user removed during an outage does not keep access.
   */
  maxStale: duration.prefault('1h'),
  /** Where sessions live: this process's memory (one gateway) or Redis (replicas, restarts). */
  store: z.discriminatedUnion('type', [z.strictObject({ type: z.literal('memory') }), redisStoreSchema]).prefault({ type: 'memory' }),
  /**
   * Keys that encrypt sessions at rest and seal browser-held state; the first encrypts, all
   * decrypt (rotation). Required with a redis store, so every replica opens the same values.
   */
  encryptionKeys: z.array(encryptionKey).min(1).optional(),
}).superRefine((s, ctx) => {
  if (s.store.type === 'redis' && !s.encryptionKeys) {
    ctx.addIssue({
      code: 'custom',
      path: ['encryptionKeys'],
      message: 'required with sessions.store.type "redis": sessions hold refresh tokens and every replica must open the same sealed cookies (e.g. encryptionKeys: ["${file:/etc/netbox-gate/session.key}"], made with: openssl rand -base64 32)',
    });
  }
});

const limit = z.strictObject({ attempts: z.number().int().min(1), window: duration });
export const signInSchema = z.strictObject({
  rateLimit: z
    .strictObject({
      perUser: limit.prefault({ attempts: 5, window: '5m' }),
      perAddress: limit.prefault({ attempts: 30, window: '5m' }),
      /** Counters each limiter keeps at most (user names, addresses); past it the oldest window is dropped. */
      maxTracked: z.number().int().min(100).default(100_000),
    })
    .prefault({}),
});

export const loggingSchema = z.strictObject({
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info'),
});

/** Prometheus metrics on their own listener; off unless `listen` is set. */
export const metricsSchema = z.strictObject({
  listen: hostPort(9464).optional(),
});

/** SCIM 2.0 service provider for Entra ID, Okta, authentik (docs/scim.md); off unless enabled. */
export const scimSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    /**
     * Bearer secrets the provisioning client sends (several, for rotation), e.g.
     * ["${file:/etc/netbox-gate/scim.token}"]; compared in constant time.
     */
    tokens: z.array(secret.refine((t) => t.length >= 16, 'must be at least 16 characters: a long random secret (openssl rand -base64 32)')).min(1).optional(),
    /** The source id of the `scim` identity: what policy rules name in `sources:`. */
    sourceId: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'use lower-case letters, digits, "-" and "_"').default('scim'),
  })
  .superRefine((s, ctx) => {
    if (s.enabled && !s.tokens) ctx.addIssue({ code: 'custom', path: ['tokens'], message: 'required with scim.enabled: the bearer secret(s) the provisioning client sends (e.g. ["${file:/etc/netbox-gate/scim.token}"])' });
  });

export const configSchema = z.strictObject({
  server: serverSchema,
  netbox: netboxSchema,
  sessions: sessionsSchema.prefault({}),
  signIn: signInSchema.prefault({}),
  logging: loggingSchema.prefault({}),
  metrics: metricsSchema.prefault({}),
  sources: z.array(sourceSchema).min(1, 'configure at least one identity source'),
  policy: policySchema,
  /** NetBox groups and object permissions as code (`netbox-gate netbox plan|apply`, docs/permissions.md). */
  netboxObjects: netboxObjectsSchema.optional(),
  scim: scimSchema.prefault({}),
  /** Directory sync and RADIUS inactivity (docs/lifecycle.md); deprovisioning needs netbox.api. */
  lifecycle: lifecycleSchema.optional(),
});

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
