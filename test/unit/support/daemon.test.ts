// The shared test helpers: startDaemon's ready/exit/timeout/stop paths on small Node children,
// freePort and refusedAddress, temp folders that never outlive the process, the recording logger.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { outputMatches, startDaemon, tcpListening } from '../../support/daemon.js';
import { recordingLogger } from '../../support/logger.js';
import { freePort, freeUdpPort, refusedAddress } from '../../support/ports.js';
import { repoRoot } from '../../support/repo.js';
import { makeTempDir, tempDirFor } from '../../support/temp.js';

const node = (script: string) => ({ cmd: process.execPath, args: ['-e', script] });
// Running, and not a zombie waiting for a reaper (a container's PID 1 may never reap).
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('startDaemon', () => {
  it('resolves once ready, keeps the output, and stop() ends the process and runs clean-up once', async () => {
    let cleanups = 0;
    const d = await startDaemon({
      name: 'child',
      ...node(`setTimeout(() => { console.log('ready now'); console.error('on stderr'); }, 100); setInterval(() => {}, 1000);`),
      ready: outputMatches('ready now'),
      cleanup: async () => void cleanups++,
    });
    assert.ok(d.running());
    assert.match(d.output(), /ready now/);
    await new Promise((r) => setTimeout(r, 50));
    assert.match(d.stderr(), /on stderr/);
    assert.doesNotMatch(d.stderr(), /ready now/);
    await d.stop();
    await d.stop();
    assert.equal(d.running(), false);
    assert.equal(alive(d.pid), false);
    assert.equal(cleanups, 1);
  });

  it('rejects with the name and what the process printed when it exits before it is ready, and cleans up', async () => {
    let cleaned = false;
    await assert.rejects(
      startDaemon({
        name: 'broken-server',
        ...node(`console.error('bad flag --frobnicate'); process.exit(3);`),
        ready: outputMatches('never'),
        cleanup: async () => void (cleaned = true),
      }),
      /broken-server exited \(code 3\) before it was ready:\n[^]*bad flag --frobnicate/,
    );
    assert.ok(cleaned);
  });

  it('rejects after the timeout and leaves no process behind', async () => {
    let pid = 0;
    await assert.rejects(
      startDaemon({
        name: 'slow-server',
        ...node(`console.log('pid ' + process.pid); setInterval(() => {}, 1000);`),
        ready: (out) => {
          pid = Number(/pid (\d+)/.exec(out)?.[1] ?? 0);
          return false;
        },
        timeoutMs: 300,
      }),
      /slow-server did not become ready within 300 ms:\n[^]*pid \d+/,
    );
    assert.ok(pid > 0);
    assert.equal(alive(pid), false);
  });

  it('says so when the command cannot be started', async () => {
    await assert.rejects(startDaemon({ name: 'ghost', cmd: '/nonexistent/ghost-server', ready: () => true }), /ghost could not be started \(spawn \/nonexistent\/ghost-server ENOENT\)/);
  });

  it('kills with SIGKILL a process that ignores SIGTERM, after the grace', async () => {
    const d = await startDaemon({
      name: 'stubborn',
      ...node(`process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('up'); setInterval(() => {}, 1000);`),
      ready: outputMatches('up'),
      stopGraceMs: 300,
    });
    const t0 = Date.now();
    await d.stop();
    assert.ok(Date.now() - t0 >= 250);
    assert.deepEqual(await d.exited, { code: null, signal: 'SIGKILL' });
    assert.match(d.output(), /ignoring SIGTERM/);
  });

  it('with processGroup, stop() also ends the children the daemon started, even one that ignores SIGTERM', async () => {
    const grandchild = `process.on('SIGTERM', () => {}); console.log('grandchild ' + process.pid); setInterval(() => {}, 1000)`;
    const d = await startDaemon({
      name: 'wrapper',
      ...node(`require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stdio: 'inherit' }); setInterval(() => {}, 1000);`),
      ready: outputMatches(/grandchild \d+/),
      processGroup: true,
    });
    const childPid = Number(/grandchild (\d+)/.exec(d.output())![1]);
    try {
      assert.ok(alive(childPid));
      await d.stop();
      for (let i = 0; i < 50 && alive(childPid); i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(alive(childPid), false);
    } finally {
      // If it survived, it must not keep this test process alive.
      if (alive(childPid)) process.kill(childPid, 'SIGKILL');
    }
  });

  it('tcpListening waits for every port; signal() reaches the process', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const script = `const net = require('node:net');
      for (const p of [${p1}, ${p2}]) setTimeout(() => net.createServer().listen(p, '127.0.0.1'), 150);
      process.on('SIGHUP', () => console.log('reloading'));`;
    const d = await startDaemon({ name: 'listener', ...node(script), ready: tcpListening([p1, p2]) });
    try {
      d.signal('SIGHUP');
      for (let i = 0; i < 50 && !d.output().includes('reloading'); i++) await new Promise((r) => setTimeout(r, 20));
      assert.match(d.output(), /reloading/);
    } finally {
      await d.stop();
    }
  });

  it('maxOutputChars keeps the tail', async () => {
    const d = await startDaemon({ name: 'chatty', ...node(`console.log('x'.repeat(5000) + 'END'); setInterval(() => {}, 1000);`), ready: outputMatches('END'), maxOutputChars: 100 });
    await d.stop();
    assert.ok(d.output().length <= 100);
    assert.match(d.output(), /END/);
  });
});

describe('ports', () => {
  it('freePort gives a TCP port that can be listened on; refusedAddress refuses connections', async () => {
    const port = await freePort();
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
    await new Promise((r) => srv.close(r));
    const [host, p] = (await refusedAddress()).split(':');
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => connect(Number(p), host).once('error', resolve));
    assert.equal(err.code, 'ECONNREFUSED');
    assert.ok((await freeUdpPort()) > 0);
  });
});

describe('temp folders', () => {
  it('tempDirFor removes the folder when the test ends', async (t) => {
    let path = '';
    await t.test('inner', async (t2) => {
      path = await tempDirFor(t2, 'netbox-gate-unit-');
      assert.ok(existsSync(path));
    });
    assert.equal(existsSync(path), false);
  });

  it('a folder its owner forgot is removed when the process exits', async () => {
    const temp = join(repoRoot(), 'build', 'test', 'support', 'temp.js');
    const script = `const { makeTempDir } = await import(${JSON.stringify(temp)}); const d = await makeTempDir('netbox-gate-unit-'); console.log(d.path);`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    const path = stdout.trim();
    assert.match(path, /netbox-gate-unit-/);
    assert.equal(existsSync(path), false);
  });

  it('remove() is safe to call twice', async () => {
    const d = await makeTempDir('netbox-gate-unit-');
    await d.remove();
    await d.remove();
    assert.equal(existsSync(d.path), false);
  });
});

describe('recordingLogger', () => {
  it('records every call with the child bindings merged in, shared by parent and children', () => {
    const log = recordingLogger();
    log.child({ source: 'corp' }).warn({ failure: 'timeout' }, 'server down');
    log.info({ a: 1 });
    assert.deepEqual(log.records, [
      { level: 'warn', obj: { source: 'corp', failure: 'timeout' }, msg: 'server down' },
      { level: 'info', obj: { a: 1 } },
    ]);
  });
});
