// node:http adapter for the SCIM service under `<pathPrefix>/scim/v2`: reads the JSON body
// (bounded), builds one service per config generation (tokens and policy can change on reload;
// the state lives in the store, so nothing is lost), and writes SCIM JSON.
import type http from 'node:http';
import type { GateConfig } from '../config/load.js';
import type { KeyValueStore } from '../store/store.js';
import type { Logger } from '../types.js';
import { SCIM_ERROR_SCHEMA } from './errors.js';
import type { ScimLifecycle } from './lifecycle.js';
import { createScimService, type ScimService } from './service.js';

export const SCIM_BASE = '/scim/v2';
const MAX_BODY = 1024 * 1024;

export interface ScimHttpDeps {
  cfg(): GateConfig;
  store: KeyValueStore;
  logger: Logger;
  /** What carries changes to NetBox and the gateway's sessions (src/lifecycle/scim.ts). */
  lifecycle: (cfg: GateConfig) => ScimLifecycle;
}

/** The body as text, or an error message for a body over the limit. */
async function readBody(req: http.IncomingMessage): Promise<{ text?: string; error?: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) return { error: `the request body is larger than ${MAX_BODY} bytes` };
    chunks.push(c as Buffer);
  }
  return size === 0 ? {} : { text: Buffer.concat(chunks).toString('utf8') };
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...(body === undefined ? {} : { 'Content-Type': 'application/scim+json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)) }),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function createScimHttp(deps: ScimHttpDeps) {
  const services = new WeakMap<GateConfig, ScimService>();
  const serviceFor = (cfg: GateConfig): ScimService => {
    let s = services.get(cfg);
    if (!s) {
      const lifecycle = deps.lifecycle(cfg);
      const base = new URL(`${cfg.server.pathPrefix}${SCIM_BASE}`, cfg.server.publicUrl).href;
      s = createScimService({ store: deps.store, lifecycle, tokens: cfg.scim.tokens ?? [], sourceId: cfg.scim.sourceId, baseUrl: base, logger: deps.logger });
      services.set(cfg, s);
    }
    return s;
  };

  /** True when `rest` (the path below pathPrefix) is SCIM's and SCIM is enabled. */
  const matches = (rest: string) => deps.cfg().scim?.enabled === true && (rest === SCIM_BASE || rest.startsWith(`${SCIM_BASE}/`));

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL, rest: string): Promise<void> => {
    const cfg = deps.cfg();
    const body = await readBody(req);
    if (body.error) return send(res, 413, { schemas: [SCIM_ERROR_SCHEMA], status: '413', detail: body.error }, {});
    let parsed: unknown;
    let bodyError: string | undefined;
    if (body.text !== undefined) {
      try {
        parsed = JSON.parse(body.text);
      } catch (err) {
        bodyError = `the request body is not JSON: ${(err as Error).message}`;
      }
    }
    const r = await serviceFor(cfg).handle({
      method: req.method ?? 'GET',
      path: rest.slice(SCIM_BASE.length),
      query: url.searchParams,
      ...(req.headers.authorization !== undefined ? { authorization: req.headers.authorization } : {}),
      ...(typeof req.headers['if-match'] === 'string' ? { ifMatch: req.headers['if-match'] } : {}),
      ...(parsed !== undefined ? { body: parsed } : {}),
      ...(bodyError ? { bodyError } : {}),
    });
    send(res, r.status, r.body, r.headers);
  };

  return { matches, handle };
}

