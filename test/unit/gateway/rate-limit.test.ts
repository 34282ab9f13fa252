// The sign-in rate limiter under a flood of new names: bounded state, constant work per call,
// a peek that never creates a counter, limits that change without resetting counts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRateLimiter } from '../../../src/gateway/rate-limit.js';

const MIN = 60_000;

function limiter(attempts = 5, windowMs = 5 * MIN, maxKeys = 10_000) {
  const clock = { t: 1_000_000 };
  const l = createRateLimiter({ limit: () => ({ attempts, windowMs }), maxKeys: () => maxKeys, now: () => clock.t });
  return { l, clock };
}

describe('sign-in rate limiter', () => {
  it('counts attempts in a fixed window and says how long to wait', () => {
    const { l, clock } = limiter(3, MIN);
    assert.equal(l.hit('bob'), 0);
    assert.equal(l.hit('bob'), 0);
    assert.equal(l.hit('bob'), 0);
    assert.equal(l.hit('bob'), 60);
    assert.equal(l.peek('bob'), 60);
    clock.t += 30_000;
    assert.equal(l.peek('bob'), 30);
    clock.t += 30_000;
    assert.equal(l.peek('bob'), 0, 'a new window');
    assert.equal(l.hit('bob'), 0);
    l.reset('bob');
    assert.equal(l.stats().keys, 0);
  });

  it('peek never creates a counter (a refused attempt costs the gateway nothing)', () => {
    const { l } = limiter();
    for (let i = 0; i < 1000; i++) assert.equal(l.peek(`user-${i}`), 0);
    assert.equal(l.stats().keys, 0);
  });

  it('200,000 distinct user names: the map stays at its cap and each call touches a constant number of entries', () => {
    const cap = 10_000;
    const { l, clock } = limiter(5, 5 * MIN, cap);
    const calls = 200_000;
    let maxSize = 0;
    let worstCall = 0;
    for (let i = 0; i < calls; i++) {
      if (i % 1000 === 0) clock.t += 1000; // the flood runs for 200 s: windows do not expire
      const before = l.stats().touched;
      l.hit(`attacker-${i}`);
      l.peek(`someone-${i}`);
      worstCall = Math.max(worstCall, l.stats().touched - before);
      maxSize = Math.max(maxSize, l.stats().keys);
    }
    assert.equal(maxSize, cap, 'never more counters than the cap');
    assert.ok(worstCall <= 5, `a call touched ${worstCall} entries`);
    assert.ok(l.stats().touched / calls <= 5, `average ${l.stats().touched / calls} entries per call`);
  });

  it('expired windows are swept as new ones arrive, without a full scan', () => {
    const { l, clock } = limiter(5, MIN, 100_000);
    for (let i = 0; i < 5000; i++) l.hit(`old-${i}`);
    clock.t += 2 * MIN;
    for (let i = 0; i < 5000; i++) l.hit(`new-${i}`);
    // Each insertion removes up to two expired heads: the old generation is gone.
    assert.equal(l.stats().keys, 5000);
  });

  it('a user under attack stays limited while others flood the map below its cap', () => {
    const { l } = limiter(2, 5 * MIN, 1000);
    l.hit('victim');
    l.hit('victim');
    for (let i = 0; i < 998; i++) l.hit(`x-${i}`);
    assert.ok(l.peek('victim') > 0);
  });

  it('a changed limit applies to existing counts (a reload does not reset them)', () => {
    let attempts = 5;
    const l = createRateLimiter({ limit: () => ({ attempts, windowMs: MIN }), maxKeys: () => 1000, now: () => 0 });
    for (let i = 0; i < 3; i++) l.hit('bob');
    assert.equal(l.peek('bob'), 0);
    attempts = 3;
    assert.ok(l.peek('bob') > 0, 'three attempts already counted against the new limit of three');
  });
});
