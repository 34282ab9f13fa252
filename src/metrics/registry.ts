// The gateway's Prometheus metrics: one prom-client Registry per gateway (never the library's
// global one, so tests and several gateways in one process do not share counters).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { GatewayMetrics } from './hooks.js';

export interface Metrics extends GatewayMetrics {
  readonly registry: Registry;
  /** The text exposition format, as served on /metrics. */
  text(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsOptions {
  /** Sessions the store holds now, read at each scrape; without it the gauge is absent. */
  countSessions?: () => Promise<number | undefined>;
  /** Node.js process metrics (CPU, memory, event loop); default true. */
  processMetrics?: boolean;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const statusClass = (status: number) => (status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'none');

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const signIns = new Counter({
    name: 'netbox_gate_sign_ins_total',
    help: 'Sign-in attempts by source, result (allowed, denied, rejected, rate_limited, error) and reason.',
    labelNames: ['source', 'result', 'reason'] as const,
    registers,
  });
  const decisions = new Counter({
    name: 'netbox_gate_decisions_total',
    help: 'Policy decisions by event (sign_in, refresh, policy_reload), result and deny reason.',
    labelNames: ['event', 'result', 'reason'] as const,
    registers,
  });
  const aaaDuration = new Histogram({
    name: 'netbox_gate_aaa_request_duration_seconds',
    help: 'Requests to RADIUS, TACACS+ and LDAP servers, by outcome (answered, timeout, error).',
    labelNames: ['source', 'protocol', 'server', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const aaaTimeouts = new Counter({
    name: 'netbox_gate_aaa_timeouts_total',
    help: 'Requests to an AAA server that got no answer in time.',
    labelNames: ['source', 'protocol', 'server'] as const,
    registers,
  });
  const aaaFailovers = new Counter({
    name: 'netbox_gate_aaa_failovers_total',
    help: 'Times a source left an AAA server that failed for the next one (server: the one that failed).',
    labelNames: ['source', 'protocol', 'server'] as const,
    registers,
  });
  const graphThrottled = new Counter({
    name: 'netbox_gate_graph_throttled_total',
    help: 'Microsoft Graph answers of 429, 503 or 504 that made the source back off.',
    labelNames: ['source', 'status'] as const,
    registers,
  });
  const netbox = new Histogram({
    name: 'netbox_gate_netbox_request_duration_seconds',
    help: 'Requests proxied to NetBox, timed to NetBox response headers, by method and status class (none: no answer).',
    labelNames: ['method', 'status_class'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const sessionsEnded = new Counter({
    name: 'netbox_gate_sessions_ended_total',
    help: 'Gateway sessions ended, by cause (logout, expired, revoked, denied, stale).',
    labelNames: ['cause'] as const,
    registers,
  });
  const storeErrors = new Counter({
    name: 'netbox_gate_store_errors_total',
    help: 'Session store operations that failed, by operation.',
    labelNames: ['operation'] as const,
    registers,
  });
  const reloads = new Counter({
    name: 'netbox_gate_config_reloads_total',
    help: 'Configuration reloads (SIGHUP) by result (success, failure).',
    labelNames: ['result'] as const,
    registers,
  });
  if (opts.countSessions) {
    const count = opts.countSessions;
    new Gauge({
      name: 'netbox_gate_sessions_active',
      help: 'Gateway sessions the session store holds now (expired ones included until their next request or sweep).',
      registers,
      async collect() {
        // A store that cannot answer leaves the gauge unchanged; the error is counted.
        try {
          const n = await count();
          if (n !== undefined) this.set(n);
        } catch {
          storeErrors.inc({ operation: 'count' });
        }
      },
    });
  }

  return {
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),
    signIn: (e) => signIns.inc({ source: e.source, result: e.result, reason: e.reason }),
    decision: (e) => decisions.inc({ event: e.event, result: e.allowed ? 'allowed' : 'denied', reason: e.allowed ? '' : e.reason }),
    aaaRequest: (e) => {
      aaaDuration.observe({ source: e.source, protocol: e.protocol, server: e.server, outcome: e.outcome }, e.seconds);
      if (e.outcome === 'timeout') aaaTimeouts.inc({ source: e.source, protocol: e.protocol, server: e.server });
    },
    aaaFailover: (e) => aaaFailovers.inc({ source: e.source, protocol: e.protocol, server: e.server }),
    graphThrottled: (e) => graphThrottled.inc({ source: e.source, status: String(e.status) }),
    netboxRequest: (e) => netbox.observe({ method: METHODS.has(e.method) ? e.method : 'other', status_class: statusClass(e.status) }, e.seconds),
    sessionEnded: (e) => sessionsEnded.inc({ cause: e.cause }),
    storeError: (e) => storeErrors.inc({ operation: e.operation }),
    configReload: (e) => reloads.inc({ result: e.result }),
  };
}
