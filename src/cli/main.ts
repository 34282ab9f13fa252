// The `netbox-gate` command: serve, check, explain, netbox-config, hash-password. Errors reach
// the user as messages with field paths and lines, never stack traces.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { GateConfig } from '../config/load.js';
import { loadConfigIsolated } from '../config/isolated.js';
import { configPath } from '../config/path.js';
import { formatConfigNotice, logConfigNotices } from '../config/notices.js';
import { ConfigError, formatConfigIssue, GateError } from '../errors.js';
import { createGateway } from '../gateway/server.js';
import type { MetricsServer } from '../metrics/server.js';
import { decide } from '../policy/evaluate.js';
import { createSource } from '../sources/factory.js';
import { openStore } from '../store/open.js';
import { SESSION_KEY_PREFIX } from '../gateway/sessions.js';
import type { Attributes, Decision, Logger } from '../types.js';
import { silentLogger } from '../types.js';

// The other commands (doctor, netbox plan/apply, netbox-config, sessions, hash-password) and
// metrics (prom-client) are imported where they are used: a long-running `serve` would otherwise
// keep their code and libraries in memory for nothing (idle RSS target of issue 11). What
// `serve` always needs (config, gateway, store, sources' factory, policy) is imported above.

const USAGE = `Usage: netbox-gate <command> [options]

Commands:
  serve          run the gateway (SIGHUP reloads the config; SIGTERM lets requests in flight
                 finish for up to server.shutdownTimeout, then exits)
  check          validate a config file; prints every problem as path: message (file:line),
                 then notes ("note: ...") that do not fail the check; --netbox also asks NetBox
                 (netbox.api) which mapped groups it does not have
  explain        show the policy decision for an identity: --source ID --claims FILE.json [--json];
                 with netbox.api and a redis store, also whether SCIM deactivated the user
  netbox-config  print the matching NetBox settings: [--format python|env]
  doctor         live checks of the sources, NetBox and certificates, one pass/warn/fail line
                 each; exits 1 on a failure: [--json] [--netbox-token T] [--netbox-private]
                 (token also from $NETBOX_GATE_DOCTOR_TOKEN; see docs/doctor.md)
  hash-password  print an argon2id hash for a local users file (password from the
                 terminal without echo, or the first line of standard input)
  sessions list [--user U] [--json]
                 the sessions in the shared store (sessions.store: redis); never tokens
  sessions revoke --user U | --id ID
                 end a user's sessions (or one): signed out on every replica, NetBox session ended
                 --deprovision (with --user): also set the NetBox user inactive (netbox.api)
  netbox plan    show how NetBox's groups and permissions differ from netboxObjects
                 (exit 0: none, 2: changes, 1: conflicts or errors)
  netbox apply   make NetBox match netboxObjects (only objects marked managed are changed)

Options:
  --config PATH  config file (default: $NETBOX_GATE_CONFIG or ./netbox-gate.yaml)
  -h, --help     this help
  -V, --version  print the version
`;

class UsageError extends Error {}

function out(s: string) {
  process.stdout.write(s.endsWith('\n') ? s : s + '\n');
}
function err(s: string) {
  process.stderr.write(s.endsWith('\n') ? s : s + '\n');
}

/** The config of a short-lived command, read in this process (serve reads it in a child: config/isolated.ts). */
async function load(flag: string | undefined): Promise<GateConfig> {
  const { loadConfigFile } = await import('../config/load.js');
  return loadConfigFile(configPath(flag));
}

const CLI_OPTIONS = {
  config: { type: 'string' },
  source: { type: 'string' },
  claims: { type: 'string' },
  json: { type: 'boolean', default: false },
  format: { type: 'string', default: 'python' },
  'netbox-token': { type: 'string' },
  'netbox-private': { type: 'boolean', default: false },
  user: { type: 'string' },
  deprovision: { type: 'boolean', default: false },
  id: { type: 'string' },
  netbox: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies Record<string, { type: 'string' | 'boolean'; short?: string; default?: string | boolean }>;

/**
 * `--id -H6q…`: session ids (base64url) and user names may begin with "-", and parseArgs
 * refuses such a value as ambiguous. `sessions list` prints ids as they are, so an
 * administrator pastes them as printed: a string option followed by anything that is not
 * one of our option names takes it as its value (`--id=-H6q…`).
 */
export function attachDashValues(args: readonly string[], options: Record<string, { type: string; short?: string }>): string[] {
  const names = new Set(Object.entries(options).flatMap(([n, o]) => [`--${n}`, ...(o.short ? [`-${o.short}`] : [])]));
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : undefined;
    const next = args[i + 1];
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && next.startsWith('-') && next !== '--' && !names.has(next.split('=')[0]!)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  // `sessions list|revoke` and `netbox plan|apply`: the sub-command is the first word after the command.
  const hasSub = (command === 'sessions' || command === 'netbox') && args[0] !== undefined && !args[0].startsWith('-');
  const sub = hasSub ? args[0] : undefined;
  const rest = hasSub ? args.slice(1) : args;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    out(USAGE);
    return command ? 0 : 2;
  }
  if (command === '--version' || command === '-V' || command === 'version') {
    out(packageVersion());
    return 0;
  }
  const { values } = parseArgs({
    args: attachDashValues(rest, CLI_OPTIONS),
    strict: true,
    options: CLI_OPTIONS,
  });
  if (values.help) {
    out(USAGE);
    return 0;
  }
  switch (command) {
    case 'check': {
      const cfg = await load(values.config);
      const rules = cfg.policy.rules.length;
      out(`${cfg.file}: OK (${cfg.sources.length} source${cfg.sources.length === 1 ? '' : 's'}: ${cfg.sources.map((s) => `${s.id} [${s.kind}]`).join(', ')}; ${rules} polic${rules === 1 ? 'y rule' : 'y rules'})`);
      // Notices do not fail the check: they are things to know, not things to fix.
      for (const n of cfg.notices) out(formatConfigNotice(n));
      if (!cfg.netbox.api && !cfg.lifecycle) out('note: netbox.api is not set: deprovisioning is off (docs/lifecycle.md)');
      if (values.netbox) {
        const { checkNetboxGroups } = await import('./netbox.js');
        const { missing, fatal } = await checkNetboxGroups(cfg, { out, err });
        for (const m of missing) (fatal ? err : out)(fatal ? m : `note: ${m}`);
        if (missing.length === 0) out('NetBox has every group the policy maps to.');
        return fatal ? 1 : 0;
      }
      return 0;
    }
    case 'netbox': {
      const { runNetboxCommand } = await import('./netbox.js');
      return runNetboxCommand(sub, await load(values.config), { out, err });
    }
    case 'netbox-config': {
      if (values.format !== 'python' && values.format !== 'env') throw new UsageError('--format must be python or env');
      const { renderNetboxSettings } = await import('../netbox/settings.js');
      out(renderNetboxSettings(await load(values.config), values.format));
      return 0;
    }
    case 'explain':
      return explain(values);
    case 'serve':
      return serve(values.config);
    case 'doctor': {
      const { runDoctor } = await import('../doctor/run.js');
      const { exitCode: doctorExitCode, formatJson, formatText } = await import('../doctor/report.js');
      const results = await runDoctor(await load(values.config), {
        netboxToken: values['netbox-token'] ?? process.env.NETBOX_GATE_DOCTOR_TOKEN,
        netboxPrivate: values['netbox-private'],
      });
      out(values.json ? formatJson(results) : formatText(results));
      return doctorExitCode(results);
    }
    case 'hash-password':
      return (await import('./hash-password.js')).hashPasswordCommand(out);
    case 'sessions': {
      const { runSessionsCommand } = await import('./sessions.js');
      if (sub === 'list') return runSessionsCommand(await load(values.config), { action: 'list', user: values.user, json: values.json ?? false }, out);
      if (sub !== 'revoke') throw new UsageError('sessions needs list or revoke');
      if ((values.user === undefined) === (values.id === undefined)) throw new UsageError('sessions revoke needs --user U or --id ID');
      if (values.deprovision && values.user === undefined) throw new UsageError('--deprovision needs --user U');
      return runSessionsCommand(await load(values.config), { action: 'revoke', user: values.user, id: values.id, json: values.json ?? false, ...(values.deprovision ? { deprovision: true } : {}) }, out, auditLogger());
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** The installed package's version (build/src/cli/main.js -> package.json). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

async function explain(values: { config?: string | undefined; source?: string | undefined; claims?: string | undefined; json?: boolean | undefined }): Promise<number> {
  if (!values.source) throw new UsageError('explain needs --source ID');
  if (!values.claims) throw new UsageError('explain needs --claims FILE.json');
  const cfg = await load(values.config);
  const sc = cfg.sources.find((s) => s.id === values.source);
  if (!sc) throw new UsageError(`no source with id "${values.source}" in ${cfg.file} (have: ${cfg.sources.map((s) => s.id).join(', ')})`);
  let claims: Attributes;
  try {
    const text = values.claims === '-' ? readFileSync(0, 'utf8') : readFileSync(values.claims, 'utf8');
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the file must hold one JSON object');
    claims = parsed as Attributes;
  } catch (e) {
    throw new UsageError(`cannot read claims from ${values.claims}: ${(e as Error).message}`);
  }
  const source = createSource(sc, { logger: silentLogger });
  let decision: Decision;
  try {
    const identity = source.identityFromAttributes(claims);
    decision = decide(cfg.policy, identity);
  } catch (e) {
    if (!(e instanceof GateError)) throw e;
    decision = { allowed: false, sourceId: sc.id, username: '', groups: [], superuser: false, staff: false, trace: [], reason: e.message };
  } finally {
    await source.close();
  }
  const scim = decision.allowed ? await scimForExplain(cfg, decision.username) : undefined;
  if (values.json) {
    const o: Record<string, unknown> = {
      allowed: decision.allowed,
      source: decision.sourceId,
      username: decision.username,
      groups: decision.groups,
      superuser: decision.superuser,
      staff: decision.staff,
      trace: decision.trace,
    };
    if (decision.email) o.email = decision.email;
    if (decision.reason) o.reason = decision.reason;
    if (scim) o.scim = scim;
    out(JSON.stringify(o, null, 2));
    return 0;
  }
  const lines = [
    `source:        ${decision.sourceId} (${sc.kind})`,
    `user:          ${decision.username || '(none)'}`,
    `decision:      ${decision.allowed ? 'ALLOWED' : `DENIED: ${decision.reason}`}`,
  ];
  if (scim) {
    lines.push(
      `scim:          ${
        scim.status === 'inactive'
          ? 'INACTIVE: the identity provider deactivated this account, so the sign-in is refused whatever the policy decides (deactivated_at_source)'
          : scim.status === 'not_checked'
            ? `not checked: ${scim.why}`
            : scim.status === 'active'
              ? 'active'
              : 'not provisioned through SCIM'
      }`,
    );
  }
  if (decision.allowed) {
    lines.push(`netbox groups: ${decision.groups.length ? decision.groups.join(', ') : '(none)'}`, `superuser:     ${decision.superuser ? 'yes' : 'no'}`);
  }
  lines.push(decision.trace.length ? 'rules matched:' : 'rules matched: none');
  for (const t of decision.trace) {
    const gives = [...t.groups.map((g) => `group "${g}"`), ...(t.superuser ? ['superuser'] : []), ...(t.staff ? ['staff'] : [])];
    lines.push(`  - ${t.rule} (${t.effect})${gives.length ? ` gives ${gives.join(', ')}` : ''}`);
    for (const m of t.matched) lines.push(`      because ${m}`);
  }
  out(lines.join('\n'));
  return 0;
}

/**
 * What SCIM says of the user, beside the policy's decision: the gateway refuses the sign-in of a
 * user the identity provider deactivated through SCIM, whatever the policy allows
 * (lifecycle/gateway.ts, signedIn), and only the store can say which users those are. Checked
 * as the gateway checks it (netbox.api set); undefined when there is nothing to say.
 */
type ScimSeen = { status: 'active' | 'inactive' | 'unknown' } | { status: 'not_checked'; why: string };
async function scimForExplain(cfg: GateConfig, username: string): Promise<ScimSeen | undefined> {
  if (!cfg.netbox.api || username === '') return undefined;
  if (cfg.sessions.store.type !== 'redis') {
    return cfg.scim.enabled ? { status: 'not_checked', why: 'sessions.store is "memory": the SCIM state lives inside the running gateway' } : undefined;
  }
  let store: Awaited<ReturnType<typeof openStore>> | undefined;
  try {
    const { scimUserStatus } = await import('../scim/state.js');
    store = await openStore(cfg.sessions, silentLogger);
    const status = await scimUserStatus(store, username);
    // A gateway with SCIM off still refuses users SCIM deactivated before; others need no line.
    return cfg.scim.enabled || status === 'inactive' ? { status } : undefined;
  } catch (e) {
    return { status: 'not_checked', why: (e as Error).message };
  } finally {
    await store?.close().catch(() => undefined);
  }
}

/** The audit line of an administrator's action, as JSON on stderr (the command's stdout stays for people). */
function auditLogger(): Logger {
  return pino({ base: { service: 'netbox-gate' } }, pino.destination(2)) as unknown as Logger;
}

async function serve(flag: string | undefined): Promise<number> {
  const file = configPath(flag);
  const cfg = await loadConfigIsolated(file);
  const logger = pino({ level: cfg.logging.level, base: { service: 'netbox-gate' } }) as unknown as Logger;
  logConfigNotices(cfg.notices, logger);
  let store = await openStore(cfg.sessions, logger, { cachePrefixes: [SESSION_KEY_PREFIX] });
  // Metrics are built only when asked for: no registry, no hooks, no listener otherwise.
  const metricsListen = cfg.metrics.listen;
  const base = store;
  // The active-sessions gauge: a count where the store keeps one, else a listing (Redis SCAN).
  const countSessions = async () => (base.count ? base.count('sess:') : (await base.keys('sess:')).length);
  // prom-client (about 6 MiB resident next to the rest) is imported only when metrics are on.
  const metricsModules = metricsListen ? await Promise.all([import('../metrics/registry.js'), import('../metrics/server.js'), import('../metrics/store.js')]) : undefined;
  const metrics = metricsModules?.[0].createMetrics({ countSessions });
  if (metrics) store = metricsModules![2].instrumentStore(store, metrics);
  const gw = createGateway(cfg, { logger, store, ...(metrics ? { metrics } : {}) });
  const addr = await gw.listen();
  // Directory sync (lifecycle.sync): reads the running config and sources, so a reload applies.
  // It starts only from the first config, so its code is imported only then.
  let sync: { stop(): Promise<void> } | undefined;
  if (cfg.lifecycle?.sync && cfg.netbox.api) {
    const { createDirectorySync } = await import('../lifecycle/sync.js');
    const s = createDirectorySync({ store, logger, config: () => gw.runtime().cfg, sources: () => gw.runtime().sources, deprovisioner: () => gw.lifecycle.deprovisioner() });
    s.start();
    sync = s;
  }
  let metricsServer: MetricsServer | undefined;
  if (metrics && metricsListen) {
    try {
      metricsServer = await metricsModules![1].startMetricsServer(metrics, metricsListen, logger);
    } catch (e) {
      await gw.close();
      throw new GateError('ERR_CONFIG_INVALID', `cannot listen on metrics.listen (${metricsListen.host}:${metricsListen.port}): ${(e as Error).message}`, { cause: e });
    }
    logger.info({ listen: `${metricsServer.address.address}:${metricsServer.address.port}` }, 'metrics listening on /metrics');
  }
  logger.info({ listen: `${addr.address}:${addr.port}`, publicUrl: cfg.server.publicUrl, netbox: cfg.netbox.url, sources: cfg.sources.map((s) => s.id) }, 'netbox-gate listening');
  // The running config stays when the new one is refused; the log says exactly why.
  const refuse = (e: unknown) => {
    const issues = e instanceof ConfigError ? e.issues.map(formatConfigIssue) : [(e as Error)?.message ?? String(e)];
    logger.error({ file, issues }, 'configuration reload refused; keeping the running configuration');
    metrics?.configReload({ result: 'failure' });
  };
  // Reloads run one after the other, in the order the signals came: the last one read wins.
  let reloading = Promise.resolve();
  process.on('SIGHUP', () => {
    reloading = reloading.then(async () => {
      try {
        const next = await loadConfigIsolated(file);
        await gw.reload(next);
        metrics?.configReload({ result: 'success' });
        logConfigNotices(next.notices, logger);
      } catch (e) {
        refuse(e);
      }
    });
  });
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  // Stop accepting, let requests in flight (a long export) finish up to the bound, then close.
  const graceMs = gw.runtime().cfg.server.shutdownTimeout;
  await sync?.stop();
  logger.info({ shutdownTimeoutMs: graceMs }, 'shutting down: waiting for requests in flight');
  const cut = await gw.close(graceMs);
  if (cut > 0) logger.warn({ connections: cut, shutdownTimeoutMs: graceMs }, 'requests still running at server.shutdownTimeout were cut');
  await metricsServer?.close();
  logger.info({}, 'stopped');
  return 0;
}

export async function run(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (e) {
    if (e instanceof ConfigError) {
      err(`${e.issues.length} problem${e.issues.length === 1 ? '' : 's'} in the configuration:`);
      for (const i of e.issues) err(`  ${formatConfigIssue(i)}`);
      process.exitCode = 1;
    } else if (e instanceof (await import('./hash-password.js')).PasswordInputError) {
      err(`netbox-gate hash-password: ${e.message}`);
      process.exitCode = 1;
    } else if (e instanceof GateError) {
      err(`netbox-gate: ${e.message}`);
      process.exitCode = 1;
    } else if (e instanceof UsageError || e instanceof (await import('./netbox.js')).NetboxUsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`netbox-gate: ${(e as Error).message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else {
      err(`netbox-gate: unexpected error: ${(e as Error)?.message ?? String(e)}`);
      process.exitCode = 70;
    }
  }
}
