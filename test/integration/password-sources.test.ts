// The password source contract (test/support/password-source-suite.ts) run by every password
// source against its real server: FreeRADIUS, the TACACS+ test peer (tacquito) and OpenLDAP.
import { after, before, describe } from 'node:test';
import { createLdapSource } from '../../src/sources/ldap/index.js';
import { ldapSourceSchema } from '../../src/sources/ldap/config.js';
import { radiusSourceSchema } from '../../src/sources/radius/config.js';
import { createRadiusSource } from '../../src/sources/radius/index.js';
import { tacacsSourceSchema } from '../../src/sources/tacacs/config.js';
import { createTacacsSource } from '../../src/sources/tacacs/index.js';
import { silentLogger } from '../../src/types.js';
import { startFreeRadius, USERS, type FreeRadius } from '../support/freeradius.js';
import { runPasswordSourceSuite } from '../support/password-source-suite.js';
import { freeUdpPort, startSilentListener } from '../support/ports.js';
import { PASSWORDS, SERVICE_DN, SERVICE_PW, startSlapd, SUFFIX, type Slapd } from '../support/slapd.js';
import { startTacacsServer, type RunningTacacsServer } from '../support/tacacs.js';
import { startFakeServer } from '../unit/radius/fake-server.js';

const deps = { logger: silentLogger };

describe('RADIUS source contract (FreeRADIUS)', () => {
  let fr: FreeRadius;
  before(async () => {
    fr = await startFreeRadius();
  });
  after(() => fr?.stop());
  const radius = (servers: string[], timeout: string) =>
    createRadiusSource(radiusSourceSchema.parse({ kind: 'radius', id: 'freeradius', servers, secret: fr.secret, timeout, retries: 0 }), deps);
  runPasswordSourceSuite(() => ({
    source: () => radius([`127.0.0.1:${fr.authPort}`], '2s'),
    sourceAt: (address, timeout) => radius([address], timeout),
    // UDP: nothing listens, so nothing answers.
    deadAddress: async () => `127.0.0.1:${await freeUdpPort()}`,
    silentServer: async () => {
      const s = await startFakeServer(); // records requests, never answers
      return { address: `127.0.0.1:${s.port}`, stop: () => s.close() };
    },
    user: { username: 'alice', password: USERS.alice },
  }));
});

describe('TACACS+ source contract (tacquito)', () => {
  const SECRET = 'tacacs-contract-secret';
  let server: RunningTacacsServer;
  before(async () => {
    server = await startTacacsServer({ secret: SECRET, users: { alice: { password: 'alice-tacacs-pw', args: ['priv-lvl=15', 'role=netbox-admin'] } } });
  });
  after(() => server?.stop());
  const tacacs = (servers: string[], timeout: string) => createTacacsSource(tacacsSourceSchema.parse({ kind: 'tacacs', id: 'tac', servers, secret: SECRET, timeout }), deps);
  runPasswordSourceSuite(() => ({
    source: () => tacacs([server.address], '2s'),
    sourceAt: (address, timeout) => tacacs([address], timeout),
    silentServer: startSilentListener,
    user: { username: 'alice', password: 'alice-tacacs-pw' },
    explainInput: (identity) => ({ username: identity.username, av: identity.attributes['tacacsAv'] ?? [] }),
  }));
});

describe('LDAP source contract (OpenLDAP slapd)', () => {
  let slapd: Slapd;
  before(async () => {
    slapd = await startSlapd();
  });
  after(() => slapd?.stop());
  const ldap = (urls: string[], timeout: string) =>
    createLdapSource(
      ldapSourceSchema.parse({
        kind: 'ldap',
        id: 'corp-ldap',
        urls,
        tls: { caFile: slapd.caFile },
        bindDn: SERVICE_DN,
        bindPassword: SERVICE_PW,
        userSearch: { base: `ou=people,${SUFFIX}` },
        attributes: ['employeeType'],
        timeout,
      }),
      deps,
    );
  runPasswordSourceSuite(() => ({
    source: () => ldap([slapd.ldapsUrl], '2s'),
    sourceAt: (address, timeout) => ldap([`ldaps://${address}`], timeout),
    silentServer: startSilentListener,
    user: { username: 'alice', password: PASSWORDS.alice },
  }));
});
