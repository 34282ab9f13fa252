// The source registry is the one list of kinds: the config schema accepts exactly the registered
// kinds, and every entry that loads is built by its own kind's factory.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../../src/config/load.js';
import { createSource } from '../../../src/sources/factory.js';
import { SOURCE_KINDS, sourceKindNames, sourceSchema } from '../../../src/sources/registry.js';
import { silentLogger } from '../../../src/types.js';

const ALL_KINDS = `server:
  publicUrl: https://netbox.example.org
netbox:
  url: http://127.0.0.1:8001
sources:
  - kind: oidc
    id: corp
    preset: keycloak
    keycloak: { url: "https://sso.example.org", realm: corp }
    clientId: netbox
    clientSecret: x
  - kind: radius
    id: aaa
    servers: [127.0.0.1]
    secret: s
  - kind: tacacs
    id: tac
    servers: [127.0.0.1]
    secret: s
  - kind: ldap
    id: dir
    urls: [ldaps://127.0.0.1]
    userDnTemplate: "uid={username},ou=people,dc=example,dc=org"
  - kind: upstream
    id: px
    mode: headers
    trustedAddresses: [127.0.0.1]
policy:
  rules:
    - name: all
      users: [{ glob: "*" }]
`;

describe('source registry', () => {
  it('lists each kind once, and the sources schema accepts exactly those kinds', () => {
    assert.deepEqual([...sourceKindNames].sort(), ['ldap', 'local', 'oidc', 'radius', 'tacacs', 'upstream']);
    assert.equal(new Set(sourceKindNames).size, SOURCE_KINDS.length);
    for (const def of SOURCE_KINDS) {
      const r = sourceSchema.safeParse({ kind: def.kind });
      assert.ok(!r.success && r.error.issues.every((i) => i.path[0] !== 'kind'), `${def.kind} is a known discriminator`);
    }
    const unknown = sourceSchema.safeParse({ kind: 'saml', id: 'x' });
    assert.ok(!unknown.success && unknown.error.issues.some((i) => i.path[0] === 'kind'));
  });

  it('every kind loads from a config and is built by its own factory', async () => {
    const cfg = parseConfigText(ALL_KINDS, 'all.yaml', {});
    assert.deepEqual(cfg.notices, []);
    assert.deepEqual(cfg.sources.map((s) => s.kind), ['oidc', 'radius', 'tacacs', 'ldap', 'upstream']);
    const oidc = cfg.sources[0]!;
    assert.ok(oidc.kind === 'oidc' && oidc.issuer === 'https://sso.example.org/realms/corp', 'oidc resolution (preset) ran');
    for (const sc of cfg.sources) {
      const source = createSource(sc, { logger: silentLogger });
      try {
        assert.equal(source.id, sc.id);
        assert.equal(source.kind, sc.kind);
        assert.equal(source.flow, { oidc: 'redirect', radius: 'password', tacacs: 'password', ldap: 'password', upstream: 'proxy', local: 'password' }[sc.kind]);
      } finally {
        await source.close();
      }
    }
  });
});
