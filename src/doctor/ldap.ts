// LDAP sources: each server reached and bound with the service account (the bind every
// search-and-bind sign-in starts with); direct-bind sources only show that the server answers.
import { GateError } from '../errors.js';
import { resolveLdapConfig, type LdapSourceConfig } from '../sources/ldap/config.js';
import { LdapOpError, RESULT_INVALID_CREDENTIALS, ldaptsConnector, tlsSettings, type LdapSession } from '../sources/ldap/connection.js';
import type { DoctorContext } from './context.js';
import { fail, pass, warn, type CheckResult } from './report.js';

export async function checkLdap(_ctx: DoctorContext, raw: LdapSourceConfig): Promise<CheckResult[]> {
  const cfg = resolveLdapConfig(raw);
  let connect;
  try {
    connect = ldaptsConnector(cfg, tlsSettings(cfg));
  } catch (err) {
    return [fail(`source ${cfg.id}: ldap`, err instanceof GateError ? err.message : String(err))];
  }
  const out: CheckResult[] = [];
  for (const url of cfg.urls) {
    const name = `source ${cfg.id}: ldap bind ${url}`;
    let session: LdapSession | undefined;
    try {
      session = await connect(url);
      if (cfg.bindDn !== undefined && cfg.bindPassword !== undefined) {
        await session.bind(cfg.bindDn, cfg.bindPassword);
        out.push(pass(name, `bound as ${cfg.bindDn}${cfg.startTls ? ' after StartTLS' : ''}`));
      } else {
        // An anonymous bind shows the server answers; refusing it is an answer too.
        await session.bind('', '').catch((err: unknown) => {
          if (!(err instanceof LdapOpError) || err.down) throw err;
        });
        out.push(warn(name, 'the server answers; no service account (direct bind), so no bind was tried'));
      }
    } catch (err) {
      const e = err as LdapOpError;
      if (e instanceof LdapOpError && e.resultCode === RESULT_INVALID_CREDENTIALS) {
        out.push(fail(name, `the server refused the service account ${cfg.bindDn}: invalid credentials (result 49); check bindDn and bindPassword`));
      } else if (e instanceof LdapOpError && !e.down) {
        out.push(fail(name, `${e.message}; check bindDn and its access rights`));
      } else {
        out.push(fail(name, `cannot reach the server: ${(err as Error)?.message ?? String(err)}`));
      }
    } finally {
      await session?.close();
    }
  }
  return out;
}
