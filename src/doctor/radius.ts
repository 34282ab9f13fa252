// RADIUS sources: RFC 5997 Status-Server to each authentication server, with the shared secret;
// only a verified Access-Accept passes.
import type { RadiusSourceConfig } from '../sources/radius/config.js';
import { statusServer } from '../sources/radius/status.js';
import type { DoctorContext } from './context.js';
import { fail, pass, type CheckResult } from './report.js';

export async function checkRadius(_ctx: DoctorContext, cfg: RadiusSourceConfig): Promise<CheckResult[]> {
  return Promise.all(
    cfg.servers.map(async (s) => {
      const r = await statusServer(cfg, s);
      const name = `source ${cfg.id}: radius status-server ${r.server}`;
      switch (r.result) {
        case 'alive':
          return pass(name, 'answered Status-Server with an Access-Accept that verifies with the shared secret');
        case 'bad_reply':
          return fail(name, `the answer does not verify (${r.reason}): the shared secret differs from the server's`);
        case 'no_answer':
          return fail(
            name,
            `no valid answer (${r.reason}): the shared secret may be wrong (FreeRADIUS drops requests whose Message-Authenticator does not verify), ` +
              'Status-Server may be off (FreeRADIUS: status_server = yes), this host may not be a client, or the server is down',
          );
      }
    }),
  );
}
