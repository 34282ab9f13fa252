// TACACS+ sources: connect to each server and send an authentication START for a user that does
// not exist; a reply that decodes proves the shared key, garbage means another key.
import { randomBytes } from 'node:crypto';
import type { TacacsSourceConfig } from '../sources/tacacs/config.js';
import { probeTacacsKey } from '../sources/tacacs/probe.js';
import type { DoctorContext } from './context.js';
import { fail, pass, warn, type CheckResult } from './report.js';

export async function checkTacacs(_ctx: DoctorContext, cfg: TacacsSourceConfig): Promise<CheckResult[]> {
  return Promise.all(
    cfg.servers.map(async (s) => {
      const label = s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;
      const name = `source ${cfg.id}: tacacs+ key ${label}`;
      const user = `netbox-gate-doctor-probe-${randomBytes(4).toString('hex')}`;
      const r = await probeTacacsKey(cfg, s, user);
      switch (r.result) {
        case 'key_ok':
          if (r.status === 'PASS') return warn(name, `the shared key matches, but the server accepted the non-existent user ${user} with a random password`);
          return pass(name, `the reply to a probe START decodes (status ${r.status} for the non-existent user ${user}): the shared key matches`);
        case 'bad_key':
          return fail(name, `the reply does not decode (${r.reason}): the shared key differs from the server's`);
        case 'no_reply':
          return fail(name, `connected, but no reply (${r.reason}): servers drop packets they cannot decrypt, so the shared key is probably wrong`);
        case 'unreachable':
          return fail(name, `cannot connect: ${r.reason}`);
      }
    }),
  );
}
