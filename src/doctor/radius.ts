// RADIUS sources: RFC 5997 Status-Server to each authentication server, with the shared secret;
// only a verified answer passes. Unanswered, an Access-Request for a non-existent probe user
// tells "no Status-Server here" apart from "down or wrong secret".
import { randomBytes } from 'node:crypto';
import type { RadiusSourceConfig } from '../sources/radius/config.js';
import { probeWithAccessRequest, statusServer } from '../sources/radius/status.js';
import type { DoctorContext } from './context.js';
import { fail, pass, type CheckResult } from './report.js';

const CODE_NAMES: Record<number, string> = { 2: 'Access-Accept', 3: 'Access-Reject', 11: 'Access-Challenge' };

export async function checkRadius(_ctx: DoctorContext, cfg: RadiusSourceConfig): Promise<CheckResult[]> {
  return Promise.all(
    cfg.servers.map(async (s) => {
      const r = await statusServer(cfg, s);
      const name = `source ${cfg.id}: radius status-server ${r.server}`;
      if (r.result === 'alive') return pass(name, 'answered Status-Server with an Access-Accept that verifies with the shared secret');
      if (r.result === 'bad_reply') return fail(name, `the answer does not verify (${r.reason}): the shared secret differs from the server's`);
      const user = `netbox-gate-doctor-probe-${randomBytes(4).toString('hex')}`;
      const a = await probeWithAccessRequest(cfg, s, user);
      if (a.result === 'alive') {
        return pass(
          name,
          `no answer to Status-Server (enable it for a quieter probe; FreeRADIUS: status_server = yes), but an Access-Request for the non-existent user ${user} ` +
            `got a verified ${CODE_NAMES[a.code] ?? `code ${a.code}`}: the server is up and the shared secret matches`,
        );
      }
      if (a.result === 'bad_reply') return fail(name, `the answer does not verify (${a.reason}): the shared secret differs from the server's`);
      return fail(
        name,
        `no valid answer to Status-Server nor to an Access-Request (${r.reason}): the shared secret may be wrong (servers drop requests whose ` +
          'Message-Authenticator does not verify), this host may not be one of its clients, or the server is down',
      );
    }),
  );
}
