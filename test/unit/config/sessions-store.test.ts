// sessions.store and sessions.encryptionKeys: a redis store needs keys (named in the message),
// keys must be 32 bytes in hex or base64 (the message never shows the value), and a redis
// store needs exactly one of url or sentinels + name.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';

const KEY = randomBytes(32).toString('base64');
const base = (sessions: string) => `server:
  publicUrl: https://netbox.example.org
netbox:
  url: http://127.0.0.1:8001
sessions:
${sessions}
sources:
  - kind: radius
    id: aaa
    servers: [127.0.0.1]
    secret: s
policy:
  rules:
    - name: admins
      groups: [admins]
      superuser: true
`;

const problems = (text: string): string[] => {
  try {
    parseConfigText(text, 'gw.yaml', {});
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.issues.map((i) => `${i.path}: ${i.message}${i.line ? ` @${i.line}` : ''}`);
  }
};

describe('sessions.store', () => {
  it('memory is the default and needs no keys', () => {
    const cfg = parseConfigText(base('  idleTimeout: 1h'), 'gw.yaml', {});
    assert.deepEqual(cfg.sessions.store, { type: 'memory' });
    assert.equal(cfg.sessions.encryptionKeys, undefined);
  });

  it('redis with a url, keys in hex and base64, defaults for prefix and timeouts', () => {
    const hex = randomBytes(32).toString('hex');
    const cfg = parseConfigText(base(`  store: { type: redis, url: "rediss://user:pw@redis.example.org:6380/2" }\n  encryptionKeys: ["${KEY}", "${hex}"]`), 'gw.yaml', {});
    assert.equal(cfg.sessions.store.type, 'redis');
    assert.deepEqual(cfg.sessions.encryptionKeys, [KEY, hex]);
    if (cfg.sessions.store.type !== 'redis') return;
    assert.equal(cfg.sessions.store.keyPrefix, 'netbox-gate:');
    assert.equal(cfg.sessions.store.connectTimeout, 5000);
    assert.equal(cfg.sessions.store.commandTimeout, 2000);
  });

  it('redis with sentinels and name', () => {
    const cfg = parseConfigText(base(`  store: { type: redis, sentinels: ["10.0.0.1", "10.0.0.2:26380"], name: mymaster }\n  encryptionKeys: ["${KEY}"]`), 'gw.yaml', {});
    assert.ok(cfg.sessions.store.type === 'redis' && cfg.sessions.store.sentinels);
    assert.deepEqual(cfg.sessions.store.sentinels, [{ host: '10.0.0.1', port: 26379 }, { host: '10.0.0.2', port: 26380 }]);
  });

  it('a redis store without encryptionKeys is an error naming the field', () => {
    const p = problems(base('  store: { type: redis, url: "redis://127.0.0.1" }'));
    assert.equal(p.length, 1);
    assert.match(p[0]!, /^sessions\.encryptionKeys: required with sessions\.store\.type "redis"/);
  });

  it('a bad key is named by its place in the list, its value never shown', () => {
    const p = problems(base(`  encryptionKeys: ["${KEY}", "too-short-secret-value"]`));
    assert.equal(p.length, 1);
    assert.match(p[0]!, /^sessions\.encryptionKeys\.1: must be 32 random bytes/);
    assert.doesNotMatch(p[0]!, /too-short-secret-value/);
  });

  it('url and sentinels: one of them, sentinels with a name; only redis URLs', () => {
    assert.match(problems(base(`  store: { type: redis }\n  encryptionKeys: ["${KEY}"]`)).join('\n'), /sessions\.store\.url: required/);
    assert.match(problems(base(`  store: { type: redis, sentinels: ["a"] }\n  encryptionKeys: ["${KEY}"]`)).join('\n'), /sessions\.store\.name: required with sentinels/);
    assert.match(problems(base(`  store: { type: redis, url: "http://x" }\n  encryptionKeys: ["${KEY}"]`)).join('\n'), /sessions\.store\.url: expected a redis:\/\//);
    assert.match(problems(base(`  store: { type: redis, url: "redis://x", sentinels: ["a"], name: m }\n  encryptionKeys: ["${KEY}"]`)).join('\n'), /sessions\.store\.sentinels: give either url or sentinels/);
    assert.match(problems(base(`  store: { type: valkey }`)).join('\n'), /sessions\.store/);
  });
});
