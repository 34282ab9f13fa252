// A private OpenLDAP slapd for the LDAP integration tests: generated slapd.conf, test CA and
// server certificate, mdb database loaded with slapadd, listening on 127.0.0.1 only.
import { execFile, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDaemon, tcpListening } from './daemon.js';
import { freePort } from './ports.js';
import { makeTempDir } from './temp.js';

const run = promisify(execFile);

export const SUFFIX = 'dc=example,dc=org';
export const ROOT_DN = `cn=admin,${SUFFIX}`;
export const ROOT_PW = 'root-secret';
export const SERVICE_DN = `cn=netbox-gate,ou=services,${SUFFIX}`;
export const SERVICE_PW = 'service-secret';
export const PASSWORDS = { alice: 'alice-pw', bob: 'bob-pw', carol: 'carol-pw' } as const;

export interface Slapd {
  ldapUrl: string;
  ldapsUrl: string;
  /** PEM of the CA that signed the server certificate. */
  caFile: string;
  /** PEM of an unrelated CA, for the "wrong CA" test. */
  otherCaFile: string;
  /** Applies an LDIF change as the root DN (ldapmodify). */
  modify(ldif: string): Promise<void>;
  stop(): Promise<void>;
}

const DATA = `dn: ${SUFFIX}
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,${SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=groups,${SUFFIX}
objectClass: organizationalUnit
ou: groups

dn: ou=services,${SUFFIX}
objectClass: organizationalUnit
ou: services

dn: ${SERVICE_DN}
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: netbox-gate
userPassword: ${SERVICE_PW}

dn: uid=alice,ou=people,${SUFFIX}
objectClass: inetOrgPerson
uid: alice
cn: Alice Liddell
givenName: Alice
sn: Liddell
mail: alice@example.org
employeeType: engineer
userPassword: ${PASSWORDS.alice}

dn: uid=bob,ou=people,${SUFFIX}
objectClass: inetOrgPerson
uid: bob
cn: Bob Builder
givenName: Bob
sn: Builder
mail: bob@example.org
userPassword: ${PASSWORDS.bob}

dn: uid=carol,ou=people,${SUFFIX}
objectClass: inetOrgPerson
uid: carol
cn: Carol Danvers
sn: Danvers
userPassword: ${PASSWORDS.carol}

dn: cn=netbox-admins,ou=groups,${SUFFIX}
objectClass: groupOfNames
cn: netbox-admins
member: uid=alice,ou=people,${SUFFIX}

dn: cn=netbox-users,ou=groups,${SUFFIX}
objectClass: groupOfNames
cn: netbox-users
member: cn=netbox-admins,ou=groups,${SUFFIX}
member: uid=bob,ou=people,${SUFFIX}

dn: cn=staff,ou=groups,${SUFFIX}
objectClass: groupOfNames
cn: staff
member: cn=netbox-users,ou=groups,${SUFFIX}

dn: cn=cycle-a,ou=groups,${SUFFIX}
objectClass: groupOfNames
cn: cycle-a
member: uid=carol,ou=people,${SUFFIX}
member: cn=cycle-b,ou=groups,${SUFFIX}

dn: cn=cycle-b,ou=groups,${SUFFIX}
objectClass: groupOfNames
cn: cycle-b
member: cn=cycle-a,ou=groups,${SUFFIX}
`;

async function makeCerts(dir: string): Promise<void> {
  const ssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  for (const ca of ['ca', 'other-ca']) {
    await ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=netbox-gate test ${ca}`,
      '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  }
  await ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr');
  await writeFile(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  await ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
    '-extfile', 'server.ext', '-out', 'server.pem');
}

function slapdConf(dir: string): string {
  return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/dyngroup.schema
pidfile ${dir}/slapd.pid
argsfile ${dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload dynlist
TLSCACertificateFile ${dir}/ca.pem
TLSCertificateFile ${dir}/server.pem
TLSCertificateKeyFile ${dir}/server.key

database mdb
maxsize 16777216
suffix "${SUFFIX}"
rootdn "${ROOT_DN}"
rootpw ${ROOT_PW}
directory ${dir}/db
index objectClass,uid,member eq
# Dynamic, nested memberOf (OpenLDAP 2.5 dynlist with "*"): the transitive groups of a user
# appear in its memberOf, as AD's in-chain rule would give them.
overlay dynlist
dynlist-attrset groupOfURLs memberURL member+memberOf@groupOfNames*

access to attrs=userPassword
  by self =xw
  by anonymous auth
  by * none
# Signed-in users may read groups (dynlist computes their memberOf from them) and the
# containers above, which the dynlist's internal subtree search starts from.
access to dn.subtree="ou=groups,${SUFFIX}"
  by users read
  by * none
access to dn.regex="^(ou=[^,]+,)?${SUFFIX}$"
  by users read
  by * none
access to *
  by dn.exact="${SERVICE_DN}" read
  by self read
  by * none
`;
}

export async function startSlapd(): Promise<Slapd> {
  const tmp = await makeTempDir('netbox-gate-slapd-');
  const dir = tmp.path;
  const conf = join(dir, 'slapd.conf');
  try {
    await mkdir(join(dir, 'db'));
    await makeCerts(dir);
    await writeFile(conf, slapdConf(dir));
    await writeFile(join(dir, 'data.ldif'), DATA);
    await run('/usr/sbin/slapadd', ['-q', '-f', conf, '-l', join(dir, 'data.ldif')]);
  } catch (err) {
    await tmp.remove();
    throw err;
  }
  const [p1, p2] = [await freePort(), await freePort()];
  const ldapUrl = `ldap://127.0.0.1:${p1}`;
  const ldapsUrl = `ldaps://127.0.0.1:${p2}`;
  // -d 0 keeps slapd in the foreground (so we own its lifetime) without debug output.
  const daemon = await startDaemon({
    name: 'slapd',
    cmd: '/usr/sbin/slapd',
    args: ['-d', '0', '-f', conf, '-h', `${ldapUrl}/ ${ldapsUrl}/`],
    ready: tcpListening([p1, p2]),
    timeoutMs: 15_000,
    pollMs: 100,
    cleanup: () => tmp.remove(),
  });
  return {
    ldapUrl,
    ldapsUrl,
    caFile: join(dir, 'ca.pem'),
    otherCaFile: join(dir, 'other-ca.pem'),
    async modify(ldif: string) {
      await new Promise<void>((resolve, reject) => {
        const p = spawn('ldapmodify', ['-x', '-H', ldapUrl, '-D', ROOT_DN, '-w', ROOT_PW], { stdio: ['pipe', 'ignore', 'pipe'] });
        let err = '';
        p.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
        p.on('error', reject);
        p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ldapmodify failed (${code}): ${err}`))));
        p.stdin!.end(ldif);
      });
    },
    stop: () => daemon.stop(),
  };
}
