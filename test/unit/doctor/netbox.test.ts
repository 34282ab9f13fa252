// doctor's NetBox checks against a scripted HTTP peer on loopback, for the answers a real NetBox
// in the integration test does not give: remote auth off (redirect to login), an unexpected
// version, NetBox refusing the status API without a token.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { parseConfigText } from '../../../src/config/load.js';
import type { DoctorContext } from '../../../src/doctor/context.js';
import { checkNetbox } from '../../../src/doctor/netbox.js';

async function fakeNetbox(handler: http.RequestListener): Promise<{ url: string; seen: http.IncomingMessage[]; close(): Promise<void> }> {
  const seen: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req);
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function ctxFor(netboxUrl: string): DoctorContext {
  const cfg = parseConfigText(
    `server: { publicUrl: "https://netbox.example.org" }
netbox: { url: "${netboxUrl}", version: "4.7" }
sources:
  - { kind: radius, id: r, servers: ["127.0.0.1:1812"], secret: s }
policy: { rules: [] }
`,
    'test.yaml',
    {},
  );
  return { cfg, opts: { localAddresses: () => [] }, now: Date.now, timeoutMs: 2000, idpDates: [], tlsUrls: new Set() };
}

test('remote auth off: NetBox sends the probe user to its login page; the lines say what to set', async () => {
  const nb = await fakeNetbox((req, res) => {
    if (req.url === '/api/status/') {
      res.writeHead(403, { 'API-Version': '4.6', 'Content-Type': 'application/json' }).end('{"detail":"Authentication credentials were not provided."}');
    } else {
      res.writeHead(302, { Location: `/login/?next=${encodeURIComponent(req.url ?? '/')}` }).end();
    }
  });
  try {
    const lines = await checkNetbox(ctxFor(nb.url));
    const by = Object.fromEntries(lines.map((l) => [l.check, l]));
    assert.equal(by['netbox: reachable']!.status, 'warn');
    assert.match(by['netbox: reachable']!.detail, /NetBox 4\.6 at .* but netbox\.version says 4\.7: set netbox\.version: "4\.6"/);
    assert.equal(by['netbox: remote auth']!.status, 'fail');
    assert.match(by['netbox: remote auth']!.detail, /sent the probe user netbox-gate-doctor-probe-[0-9a-f]+ to its login page: .*REMOTE_AUTH_HEADER = 'HTTP_X_REMOTE_USER'/);
    assert.equal(by['netbox: header trust']!.status, 'pass');
    assert.match(by['netbox: header trust']!.detail, /did not honour the probe header at 127\.0\.0\.1:\d+ \(see netbox: remote auth\); no other address of this host probed/);
    assert.match(by['netbox: probe cleanup']!.detail, /nothing to clean up: NetBox did not log the probe user netbox-gate-doctor-probe-[0-9a-f]+ in/);
    // NetBox saw the gateway's Host and identity headers, and no groups.
    const probe = nb.seen.find((r) => r.url === '/user/profile/')!;
    assert.equal(probe.headers.host, 'netbox.example.org');
    assert.match(String(probe.headers['x-remote-user']), /^netbox-gate-doctor-probe-/);
    assert.equal(probe.headers['x-remote-user-groups'], '');
  } finally {
    await nb.close();
  }
});

test('something that is not NetBox: a warning, not a version', async () => {
  const nb = await fakeNetbox((_req, res) => res.writeHead(404).end('not here'));
  try {
    const [reachable] = await checkNetbox(ctxFor(nb.url));
    assert.equal(reachable!.status, 'warn');
    assert.match(reachable!.detail, /does not say a NetBox version: is this NetBox\?/);
  } finally {
    await nb.close();
  }
});
