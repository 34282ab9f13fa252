// The exposure-limit keys of the config: defaults, and bad values named with path and line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../../src/config/load.js';

const yaml = (server = '', netbox = '', signIn = '') => `server:
  publicUrl: http://gw.example
${server}
netbox:
  url: http://127.0.0.1:8001
${netbox}
${signIn}
sources:
  - kind: radius
    id: aaa
    servers: [127.0.0.1]
    secret: s3cret-s3cret-s3cret
policy:
  rules: [{ name: all }]
`;

describe('exposure-limit config keys', () => {
  it('have sensible defaults', () => {
    const c = parseConfigText(yaml(), '/v/gw.yaml', {});
    assert.deepEqual(c.server.timeouts, { headers: 30_000, request: 3_600_000, idle: 120_000, keepAlive: 5000 });
    assert.equal(c.server.maxConnections, 4096);
    assert.equal(c.server.maxConnectionsPerClient, 256);
    assert.deepEqual(c.netbox.connections, { signedIn: 192, token: 64, tokenPerClient: 16 });
    assert.equal(c.signIn.rateLimit.maxTracked, 100_000);
  });

  it('a request deadline shorter than the header deadline, or an empty pool, is named with its line', () => {
    assert.throws(
      () => parseConfigText(yaml('  timeouts: { headers: 1m, request: 30s }', '  connections: { token: 0 }'), '/v/gw.yaml', {}),
      (e: Error) => {
        assert.match(e.message, /server\.timeouts\.request: must be at least timeouts\.headers \(\/v\/gw\.yaml:3\)/);
        assert.match(e.message, /netbox\.connections\.token: .*>=1 \(\/v\/gw\.yaml:6\)/);
        return true;
      },
    );
  });
});
