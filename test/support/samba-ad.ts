// A real Active Directory domain controller (Samba, from Debian; scripts/deps/samba.sh) for the LDAP
// source's AD tests: a fresh domain provisioned in a temp dir, LDAP only, on its own 127.0.0.2.
import { execFile } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDaemon, tcpListening, type Daemon } from './daemon.js';
import { makeTempDir } from './temp.js';

const run = promisify(execFile);

/** Samba's LDAP ports are fixed (389/636): the DC gets a loopback address of its own. */
export const AD_HOST = '127.0.0.2';
export const REALM = 'CORP.EXAMPLE.TEST';
export const DOMAIN = 'CORP';
export const BASE_DN = 'DC=corp,DC=example,DC=test';
export const STAFF_OU = `OU=Staff,${BASE_DN}`;
export const GROUPS_OU = `OU=Groups,${BASE_DN}`;
export const ADMIN_PW = 'Admin-Passw0rd!';
export const SERVICE_DN = `CN=svc-netbox-gate,OU=Service Accounts,${BASE_DN}`;
export const SERVICE_PW = 'Svc-Netb0x-Gate!';
/** Failed binds before AD locks an account (the domain default is 0: never). */
export const LOCKOUT_THRESHOLD = 3;

/**
 * The directory's people. alice reaches NetBox-Admins only through Network-Ops (nested);
 * bob is a direct member of NetBox-Readers; carol is disabled; dave must change his password;
 * erin's account has expired; frank is there to be locked out.
 */
export const USERS = {
  alice: { pw: 'Alice-Passw0rd!', given: 'Alice', sn: 'Liddell' },
  bob: { pw: 'Bob-Passw0rd!', given: 'Bob', sn: 'Builder' },
  carol: { pw: 'Carol-Passw0rd!', given: 'Carol', sn: 'Danvers' },
  dave: { pw: 'Dave-Passw0rd!', given: 'Dave', sn: 'Lister' },
  erin: { pw: 'Erin-Passw0rd!', given: 'Erin', sn: 'Brockovich' },
  frank: { pw: 'Frank-Passw0rd!', given: 'Frank', sn: 'Bullitt' },
} as const;
export type AdUser = keyof typeof USERS;

/** The DN samba-tool gives a user created with a given name and surname: CN=<given> <sn>. */
export const userDn = (u: AdUser): string => `CN=${USERS[u].given} ${USERS[u].sn},${STAFF_OU}`;
export const groupDn = (g: string): string => `CN=${g},${GROUPS_OU}`;

export interface SambaAd {
  ldapUrl: string;
  ldapsUrl: string;
  /** PEM of the test CA that signed the DC's certificate (SAN IP:127.0.0.2). */
  caFile: string;
  /** Runs `samba-tool <args>` against this domain's database. */
  tool(...args: string[]): Promise<string>;
  /**
   * Stops samba and starts it again on the same domain with `ldap server require strong auth`
   * set as given: true is the default of a fresh DC (simple binds only over TLS).
   */
  restart(opts: { requireStrongAuth: boolean }): Promise<void>;
  /** Everything samba printed so far (since the last start), for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

function portTaken(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A CA and a server certificate with 127.0.0.2 in its subjectAltName (Samba's own has none). */
async function makeCerts(dir: string): Promise<void> {
  const ssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  await ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=netbox-gate test AD CA',
    '-keyout', 'ca.key', '-out', 'ca.pem', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  await ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=dc1.corp.example.test', '-keyout', 'dc.key', '-out', 'dc.csr');
  await writeFile(join(dir, 'dc.ext'), `subjectAltName=IP:${AD_HOST},DNS:dc1.corp.example.test\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  await ssl('x509', '-req', '-in', 'dc.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'dc.ext', '-out', 'dc.pem');
  // Samba refuses a key file others can read.
  await chmod(join(dir, 'dc.key'), 0o600);
}

const STRONG_AUTH_OFF = 'ldap server require strong auth = no';
const STRONG_AUTH_ON = 'ldap server require strong auth = yes';

function startSamba(conf: string): Promise<Daemon> {
  return startDaemon({
    name: 'samba (AD DC)',
    cmd: '/usr/sbin/samba',
    args: ['--foreground', '--no-process-group', '-M', 'single', '--debug-stdout', '-s', conf],
    ready: tcpListening([389, 636], AD_HOST),
    timeoutMs: 30_000,
    pollMs: 100,
    maxOutputChars: 64_000,
  });
}

export async function startSambaAd(): Promise<SambaAd> {
  for (const port of [389, 636]) {
    if (await portTaken(port, AD_HOST)) {
      throw new Error(`${AD_HOST}:${port} is already in use (another Samba AD test running?); the test DC needs it`);
    }
  }
  const tmp = await makeTempDir('netbox-gate-samba-');
  const dir = tmp.path;
  const conf = join(dir, 'etc', 'smb.conf');
  const tool = async (...args: string[]): Promise<string> => {
    try {
      const { stdout } = await run('samba-tool', [...args, '-s', conf], { cwd: dir });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`samba-tool ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
    }
  };
  try {
    await run('samba-tool', [
      'domain', 'provision', `--targetdir=${dir}`, `--realm=${REALM}`, `--domain=${DOMAIN}`, '--host-name=dc1',
      '--server-role=dc', '--dns-backend=NONE', `--adminpass=${ADMIN_PW}`,
      '--option=server services = ldap',
      `--option=interfaces = ${AD_HOST}/8`,
      '--option=bind interfaces only = yes',
    ], { cwd: dir });
    await makeCerts(dir);
    // Added after provisioning (provision itself wants the defaults): plain simple binds for the
    // insecureAllowPlaintext test, our certificate, and every file inside the temp dir.
    const extra = [
      STRONG_AUTH_OFF,
      'tls enabled = yes',
      `tls keyfile = ${join(dir, 'dc.key')}`,
      `tls certfile = ${join(dir, 'dc.pem')}`,
      `tls cafile = ${join(dir, 'ca.pem')}`,
      `pid directory = ${dir}`,
      `log file = ${join(dir, 'log.%m')}`,
    ];
    const smbConf = await readFile(conf, 'utf8');
    await writeFile(conf, smbConf.replace(/^\[global\]\n/m, `[global]\n${extra.map((l) => `\t${l}\n`).join('')}`));

    await tool('domain', 'passwordsettings', 'set', `--account-lockout-threshold=${LOCKOUT_THRESHOLD}`);
    for (const ou of ['OU=Staff', 'OU=Groups', 'OU=Service Accounts']) await tool('ou', 'create', ou);
    await tool('user', 'create', 'svc-netbox-gate', SERVICE_PW, '--userou=OU=Service Accounts');
    for (const [name, u] of Object.entries(USERS)) {
      await tool('user', 'create', name, u.pw, '--userou=OU=Staff', `--given-name=${u.given}`, `--surname=${u.sn}`,
        `--mail-address=${name}@corp.example.test`, ...(name === 'dave' ? ['--must-change-at-next-login'] : []));
    }
    for (const g of ['NetBox-Admins', 'Network-Ops', 'NetBox-Readers']) await tool('group', 'add', g, '--groupou=OU=Groups');
    // Nesting: Network-Ops is a member of NetBox-Admins, alice of Network-Ops.
    await tool('group', 'addmembers', 'NetBox-Admins', 'Network-Ops');
    await tool('group', 'addmembers', 'Network-Ops', 'alice');
    await tool('group', 'addmembers', 'NetBox-Readers', 'bob,carol,dave,erin,frank');
    await tool('user', 'disable', 'carol');
    await tool('user', 'setexpiry', 'erin', '--days=0');
  } catch (err) {
    await tmp.remove();
    throw err;
  }
  let daemon: Daemon;
  try {
    daemon = await startSamba(conf);
  } catch (err) {
    await tmp.remove();
    throw err;
  }
  return {
    ldapUrl: `ldap://${AD_HOST}`,
    ldapsUrl: `ldaps://${AD_HOST}`,
    caFile: join(dir, 'ca.pem'),
    tool,
    async restart({ requireStrongAuth }) {
      await daemon.stop();
      const text = await readFile(conf, 'utf8');
      await writeFile(conf, text.replace(requireStrongAuth ? STRONG_AUTH_OFF : STRONG_AUTH_ON, requireStrongAuth ? STRONG_AUTH_ON : STRONG_AUTH_OFF));
      daemon = await startSamba(conf);
    },
    output: () => daemon.output(),
    async stop() {
      await daemon.stop();
      await tmp.remove();
    },
  };
}
