// The `scim` config section: off by default; enabled needs tokens (long secrets) and netbox.api;
// its sourceId is a source id the policy may name in `sources:` and must not clash with one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';

const base = (scim: string, o: { api?: boolean; rule?: string } = {}) => `server:
  publicUrl: https://netbox.example.org
netbox:
  url: http://127.0.0.1:8001
${o.api === false ? '' : '  api:\n    token: nbt_abcdefghijkl.0123456789abcdef0123456789abcdef01234567\n'}sources:
  - kind: oidc
    id: corp
    issuer: https://idp.example.org
    clientId: netbox
${scim}
policy:
  rules:
    - name: scim-engineers
      sources: ${o.rule ?? 'corp'}
      groups: engineers
`;

const problems = (text: string, env: NodeJS.ProcessEnv = {}): string[] => {
  try {
    parseConfigText(text, 'gw.yaml', env);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.issues.map((i) => `${i.path}: ${i.message}${i.line ? ` @${i.line}` : ''}`);
  }
};

describe('scim config', () => {
  it('is off by default with sourceId "scim"', () => {
    const cfg = parseConfigText(base(''), 'gw.yaml', {});
    assert.deepEqual(cfg.scim, { enabled: false, sourceId: 'scim' });
  });

  it('enabled: tokens from ${env:}/${file:}, several for rotation; rules may name the scim source', () => {
    const cfg = parseConfigText(base('scim:\n  enabled: true\n  tokens: ["${env:SCIM_A}", "${env:SCIM_B}"]', { rule: '[corp, scim]' }), 'gw.yaml', { SCIM_A: 'a'.repeat(32), SCIM_B: 'b'.repeat(32) });
    assert.deepEqual(cfg.scim, { enabled: true, tokens: ['a'.repeat(32), 'b'.repeat(32)], sourceId: 'scim' });
  });

  it('names every problem with its path and line', () => {
    assert.deepEqual(problems(base('scim:\n  enabled: true')), ['scim.tokens: required with scim.enabled: the bearer secret(s) the provisioning client sends (e.g. ["${file:/etc/netbox-gate/scim.token}"]) @12']);
    assert.deepEqual(problems(base('scim:\n  enabled: true\n  tokens: [short]')), ['scim.tokens.0: must be at least 16 characters: a long random secret (openssl rand -base64 32) @14']);
    assert.deepEqual(problems(base('scim:\n  enabled: true\n  tokens: ["${env:T}"]', { api: false }), { T: 't'.repeat(20) }), ['scim.enabled: needs netbox.api: a SCIM deactivation reaches NetBox through its REST API @11']);
    assert.deepEqual(problems(base('scim:\n  enabled: true\n  sourceId: corp\n  tokens: ["${env:T}"]'), { T: 't'.repeat(20) }), ['scim.sourceId: "corp" is already a source id; the scim identity needs its own @14']);
    assert.deepEqual(problems(base('scim:\n  enabled: true\n  tokenz: []\n  tokens: ["${env:T}"]'), { T: 't'.repeat(20) }), ['scim.tokenz: unknown key "tokenz" @14']);
  });

  it('a rule naming the scim source while SCIM is off is the usual unknown-source error', () => {
    assert.deepEqual(problems(base('', { rule: 'scim' })), ['policy.rules.0.sources: no source has id "scim" @16']);
  });
});
