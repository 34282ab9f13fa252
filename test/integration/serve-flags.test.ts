// `serve` runs Node with V8 settings for a long-running proxy (bin/netbox-gate.js: a small young
// generation, WebAssembly at the baseline tier, no mid-tier compiler; docs/performance.md says
// what each saves and costs) by re-executing itself once, in place; a setting the operator gives,
// either way, is kept.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { startGateway } from '../support/gateway.js';

const config = (port: number) => `server:
  listen: 127.0.0.1:${port}
  publicUrl: http://127.0.0.1:${port}
netbox:
  url: http://127.0.0.1:9
sources:
  - kind: radius
    id: aaa
    servers: [127.0.0.1]
    secret: s
policy:
  rules:
    - name: all
      users: [{ glob: "*" }]
`;

/** The command line of the serving process as the system sees it. */
const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

describe('netbox-gate serve: V8 settings', () => {
  it('runs with its settings, in the process that was started (same pid), and answers', async () => {
    const gw = await startGateway(config);
    try {
      const args = cmdline(gw.pid);
      for (const flag of ['--max-semi-space-size=4', '--liftoff-only', '--no-maglev']) assert.ok(args.includes(flag), `${flag} in ${args.join(' ')}`);
      assert.equal(args.filter((a) => a === 'serve').length, 1);
      assert.equal((await fetch(`${gw.url}/.netbox-gate/health`)).status, 200);
    } finally {
      await gw.stop();
    }
  });

  it("keeps the operator's own setting, either way, and adds the others", async () => {
    // --maglev on node's command line (NODE_OPTIONS does not take it), the size in NODE_OPTIONS.
    const gw = await startGateway(config, { NODE_OPTIONS: '--max-semi-space-size=8' }, undefined, ['--maglev']);
    try {
      const args = cmdline(gw.pid);
      assert.ok(args.includes('--liftoff-only'), args.join(' '));
      assert.ok(!args.includes('--no-maglev'), `--maglev given: ${args.join(' ')}`);
      assert.ok(args.includes('--maglev'), args.join(' '));
      assert.ok(!args.some((a) => a.startsWith('--max-semi-space-size')), `a size given: ${args.join(' ')}`);
      assert.equal((await fetch(`${gw.url}/.netbox-gate/health`)).status, 200);
    } finally {
      await gw.stop();
    }
  });
});
