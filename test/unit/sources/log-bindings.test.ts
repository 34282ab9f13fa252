// Every log line of a source names it exactly once: the factory binds `source`, and sources
// never add it again (pino does not de-duplicate keys, so a line would carry it twice).
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { parseConfigText } from '../../../src/config/load.js';
import { createSource } from '../../../src/sources/factory.js';

describe('source log lines', () => {
  it('a RADIUS failover line carries "source" once', async () => {
    // A bound UDP socket that never answers: the source times out and logs the failover.
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    const port = silent.address().port;
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        cb();
      },
    });
    const cfg = parseConfigText(
      `server: { publicUrl: http://127.0.0.1:8080 }
netbox: { url: http://127.0.0.1:8001 }
sources:
  - kind: radius
    id: corp-radius
    servers: ['127.0.0.1:${port}']
    secret: a-long-enough-shared-secret
    timeout: 100ms
    retries: 0
policy: { rules: [{ name: all }] }
`,
      '/virtual/log.yaml',
      {},
    );
    const src = createSource(cfg.sources[0]!, { logger: pino({ level: 'debug' }, sink) });
    try {
      await assert.rejects(src.flow === 'password' ? src.authenticate('bob', 'pw', { clientIp: '127.0.0.1' }) : Promise.reject(new Error('not a password source')));
      assert.ok(lines.length > 0, 'the failure is logged');
      for (const l of lines) assert.equal(l.match(/"source":/g)?.length ?? 0, 1, l);
    } finally {
      await src.close();
      silent.close();
    }
  });
});
