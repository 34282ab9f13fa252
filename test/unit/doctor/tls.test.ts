// doctor's certificate lines: the gateway's own server.tls.certFile and an https endpoint on
// loopback, both with a certificate made by openssl to expire in 5 days (so: a warning).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfigText } from '../../../src/config/load.js';
import type { DoctorContext } from '../../../src/doctor/context.js';
import { checkTls } from '../../../src/doctor/tls.js';
import { tempDirFor } from '../../support/temp.js';

test('a certificate with 5 days left warns, for the cert file and for an https endpoint', async (t) => {
  const dir = await tempDirFor(t, 'netbox-gate-doctor-tls-');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '5', '-subj', '/CN=localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const server = https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;

  const ctx = (certFile: string): DoctorContext => ({
    cfg: parseConfigText(
      `server: { publicUrl: "https://netbox.example.org", tls: { certFile: "${certFile}", keyFile: "${key}" } }
netbox: { url: "http://127.0.0.1:1" }
sources:
  - { kind: radius, id: r, servers: ["127.0.0.1:1812"], secret: s }
policy: { rules: [] }
`,
      'test.yaml',
      {},
    ),
    opts: {},
    now: Date.now,
    timeoutMs: 2000,
    idpDates: [],
    tlsUrls: new Set([`https://127.0.0.1:${port}`]),
  });
  const lines = await checkTls(ctx(cert));
  assert.deepEqual(
    lines.map((l) => [l.status, l.check]),
    [
      ['warn', 'tls: server.tls.certFile'],
      ['warn', `tls: 127.0.0.1:${port}`],
    ],
  );
  for (const l of lines) assert.match(l.detail, /certificate expires in [45] days \(\d{4}-\d\d-\d\d\); renew it/);
});
