// The gateway loads undici's Pool from its own module (src/netbox/undici-pool.ts) to keep the
// rest of undici out of the serving process. An undici upgrade that moves or changes that
// module must fail here.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import * as undici from 'undici';
import { Pool } from '../../../src/netbox/undici-pool.js';

test('the Pool the gateway loads is the class undici exports', () => {
  assert.equal(Pool, undici.Pool);
  assert.ok(new Pool('http://127.0.0.1:9') instanceof undici.Dispatcher);
});

test('a request through the Pool reaches the server and returns its answer', async () => {
  const server = http.createServer((req, res) => res.end(`${req.method} ${req.url}`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
  try {
    const res = await pool.request({ path: '/x?y=1', method: 'GET' });
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'GET /x?y=1');
  } finally {
    await pool.close();
    server.close();
  }
});
