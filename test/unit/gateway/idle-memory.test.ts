// A quiet gateway gives memory back once per quiet spell (src/gateway/idle-memory.ts): never while
// requests come, once after idleMs without one (start-up counts as activity), not again until
// requests have come and stopped again; nothing at all without V8's gc function.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { returnMemoryWhenIdle, type GcFunction } from '../../../src/gateway/idle-memory.js';
import { silentLogger } from '../../../src/types.js';

function setup() {
  mock.timers.enable({ apis: ['setInterval', 'Date'] });
  let requests = 0;
  const calls: Array<Parameters<GcFunction>[0]> = [];
  const stop = returnMemoryWhenIdle({ activity: () => requests, idleMs: 10_000, gc: (o) => void calls.push(o), logger: silentLogger, now: () => Date.now() });
  return {
    calls,
    stopWatching: stop,
    request: () => void requests++,
    /** Advances the clock in steps of a second. */
    wait: (ms: number) => {
      for (let t = 0; t < ms; t += 1000) mock.timers.tick(1000);
    },
    stop: () => {
      stop();
      mock.timers.reset();
    },
  };
}

describe('memory returned when the gateway is quiet', () => {
  it('once after start-up and 10 s without a request, with the memory-reducing collection', () => {
    const t = setup();
    try {
      t.wait(8_000);
      assert.equal(t.calls.length, 0, 'not before 10 s');
      t.wait(5_000);
      assert.deepEqual(t.calls, [{ type: 'major', execution: 'sync', flavor: 'last-resort' }]);
      t.wait(60_000);
      assert.equal(t.calls.length, 1, 'once per quiet spell');
    } finally {
      t.stop();
    }
  });

  it('never while requests keep coming; again after the next quiet spell', () => {
    const t = setup();
    try {
      t.wait(15_000);
      assert.equal(t.calls.length, 1);
      for (let i = 0; i < 30; i++) {
        t.request();
        t.wait(3_000);
      }
      assert.equal(t.calls.length, 1, 'a request every 3 s is not quiet');
      t.wait(15_000);
      assert.equal(t.calls.length, 2, 'the next quiet spell');
    } finally {
      t.stop();
    }
  });

  it('does nothing once stopped', () => {
    const t = setup();
    try {
      t.wait(5_000);
      t.stopWatching();
      t.wait(60_000);
      assert.equal(t.calls.length, 0);
    } finally {
      t.stop();
    }
  });

  it('without a gc function (node without --expose-gc) it does not even watch', () => {
    assert.equal((globalThis as { gc?: unknown }).gc, undefined, 'the test runs without --expose-gc');
    let polled = 0;
    const stop = returnMemoryWhenIdle({ activity: () => polled++, idleMs: 10, logger: silentLogger });
    stop();
    assert.equal(polled, 0);
  });
});
