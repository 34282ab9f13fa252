// Runs every check family against a loaded config: the sources, NetBox and certificates side by
// side (each probe has its own deadline), then the clock check on the Date headers they saw.
import type { GateConfig } from '../config/load.js';
import { checkClock } from './clock.js';
import type { DoctorContext, DoctorOptions } from './context.js';
import { checkLdap } from './ldap.js';
import { checkNetbox } from './netbox.js';
import { checkOidc } from './oidc.js';
import { checkRadius } from './radius.js';
import { pass, warn, type CheckResult } from './report.js';
import { checkTacacs } from './tacacs.js';
import { checkTls } from './tls.js';
import { checkUpstream } from './upstream.js';

export async function runDoctor(cfg: GateConfig, opts: DoctorOptions = {}): Promise<CheckResult[]> {
  const ctx: DoctorContext = { cfg, opts, now: opts.now ?? Date.now, timeoutMs: opts.timeoutMs ?? 5000, idpDates: [], tlsUrls: new Set() };
  const sources = Promise.all(
    cfg.sources.map((s): Promise<CheckResult[]> => {
      switch (s.kind) {
        case 'oidc':
          return checkOidc(ctx, s);
        case 'ldap':
          return checkLdap(ctx, s);
        case 'radius':
          return checkRadius(ctx, s);
        case 'tacacs':
          return checkTacacs(ctx, s);
        case 'upstream':
          return checkUpstream(ctx, s);
        case 'local':
          // Nothing to reach: the users file was read and checked when the config loaded.
          return Promise.resolve([
            s.users.length ? pass(`source ${s.id}: local users`, `${s.users.length} users in ${s.usersFile}`) : warn(`source ${s.id}: local users`, `${s.usersFile} lists no users`),
          ]);
      }
    }),
  );
  const [bySource, netbox] = await Promise.all([sources, checkNetbox(ctx)]);
  // After the sources: the certificate check also covers the JWKS hosts discovery pointed to.
  const tls = await checkTls(ctx);
  return [...bySource.flat(), ...netbox, ...tls, ...checkClock(ctx)];
}
