// One behavioural suite every password source (RADIUS, TACACS+, LDAP) must pass against its
// server, the way test/unit/store/store-suite.ts holds every session store to the same promises:
// what PasswordSource in src/sources/source.ts says, checked the same way for each kind.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isGateError, type ErrorCode } from '../../src/errors.js';
import type { PasswordSource, SourceContext } from '../../src/sources/source.js';
import type { Attributes, Identity } from '../../src/types.js';
import { refusedAddress } from './ports.js';

export interface PasswordSourceFixture {
  /** A source pointed at the running server, as the kind's own tests configure it. */
  source(): PasswordSource;
  /**
   * The same source (same id and mapping) pointed at `address` (`host:port`) only, with this
   * timeout (`"1s"`) and no retries, for the unreachable and aborted cases.
   */
  sourceAt(address: string, timeout: string): PasswordSource;
  /** Where a server of this kind would listen but nothing answers (default: a refused TCP port). */
  deadAddress?(): Promise<string>;
  /** A server that accepts requests and never answers (a hung server). */
  silentServer(): Promise<{ address: string; stop(): Promise<void> }>;
  /** A user the server accepts. */
  user: { username: string; password: string };
  /**
   * What `netbox-gate explain` takes to reproduce a sign-in, when that is not the identity's own
   * attributes (TACACS+ takes `{ username, av }`). Default: `identity.attributes`.
   */
  explainInput?(identity: Identity): Attributes;
}

const ctx: SourceContext = { clientIp: '192.0.2.44' };

function failsWith(code: ErrorCode, secret?: string) {
  return (err: unknown) => {
    assert.ok(isGateError(err), `expected a GateError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (secret) assert.ok(!JSON.stringify({ m: err.message, d: err.detail }).includes(secret), 'the password reached the error');
    return true;
  };
}

const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/** Registers the suite's tests in the current describe(); `fixture` is called once per test. */
export function runPasswordSourceSuite(fixture: () => PasswordSourceFixture): void {
  const using = async <T>(src: PasswordSource, fn: (s: PasswordSource) => Promise<T>): Promise<T> => {
    try {
      return await fn(src);
    } finally {
      await src.close();
    }
  };

  it('contract: good credentials give an identity of this source, for this user, with JSON-safe state', async () => {
    const f = fixture();
    await using(f.source(), async (src) => {
      assert.equal(src.flow, 'password');
      const { identity, state } = await src.authenticate(f.user.username, f.user.password, ctx);
      assert.equal(identity.sourceId, src.id);
      assert.equal(identity.sourceKind, src.kind);
      assert.equal(identity.username.toLowerCase(), f.user.username.toLowerCase());
      assert.ok(typeof identity.subject === 'string' && identity.subject.length > 0, 'a stable subject');
      assert.ok(identity.groups.every((g) => typeof g === 'string' && g.length > 0));
      assert.equal(new Set(identity.groups).size, identity.groups.length, 'groups without duplicates');
      // Sessions keep identity and state as JSON: nothing may be lost on the way.
      assert.deepEqual(json(identity), identity);
      assert.deepEqual(json(state), state);
      assert.ok(!JSON.stringify({ identity, state }).includes(f.user.password), 'the password reached identity or state');
    });
  });

  it('contract: identityFromAttributes gives exactly what sign-in gave (what `explain` shows), and is pure', async () => {
    const f = fixture();
    const { identity } = await using(f.source(), (src) => src.authenticate(f.user.username, f.user.password, ctx));
    const attrs = deepFreeze(json(f.explainInput ? f.explainInput(identity) : identity.attributes));
    // Pure: no server needed (this one points nowhere), frozen input, same answer twice.
    await using(f.sourceAt(await refusedAddress(), '1s'), async (offline) => {
      assert.deepEqual(offline.identityFromAttributes(attrs), identity);
      assert.deepEqual(offline.identityFromAttributes(attrs), identity);
    });
  });

  it('contract: a wrong password is ERR_AUTH_REJECTED, and the password never appears in the error', async () => {
    const f = fixture();
    const wrong = `${f.user.password}-wrong-7f3a`;
    await using(f.source(), async (src) => {
      await assert.rejects(src.authenticate(f.user.username, wrong, ctx), failsWith('ERR_AUTH_REJECTED', wrong));
    });
  });

  it('contract: an unknown user and an empty password are ERR_AUTH_REJECTED', async () => {
    const f = fixture();
    await using(f.source(), async (src) => {
      await assert.rejects(src.authenticate('no-such-user-4b1d', 'whatever-pw', ctx), failsWith('ERR_AUTH_REJECTED'));
      await assert.rejects(src.authenticate(f.user.username, '', ctx), failsWith('ERR_AUTH_REJECTED'));
    });
  });

  it('contract: concurrent sign-ins each get their own answer', async () => {
    const f = fixture();
    await using(f.source(), async (src) => {
      const [a, b, c] = await Promise.allSettled([
        src.authenticate(f.user.username, f.user.password, ctx),
        src.authenticate(f.user.username, `${f.user.password}-wrong`, ctx),
        src.authenticate(f.user.username, f.user.password, ctx),
      ]);
      assert.equal(a.status, 'fulfilled', a.status === 'rejected' ? String(a.reason) : '');
      assert.equal(c.status, 'fulfilled', c.status === 'rejected' ? String(c.reason) : '');
      assert.equal(b.status, 'rejected');
      failsWith('ERR_AUTH_REJECTED')((b as PromiseRejectedResult).reason);
    });
  });

  it('contract: no server to reach is ERR_SOURCE_UNAVAILABLE, not a rejection of the user', async () => {
    const f = fixture();
    const dead = await (f.deadAddress ?? refusedAddress)();
    await using(f.sourceAt(dead, '1s'), async (src) => {
      await assert.rejects(src.authenticate(f.user.username, f.user.password, ctx), failsWith('ERR_SOURCE_UNAVAILABLE', f.user.password));
    });
  });

  it('contract: a sign-in to a hung server ends soon after its signal aborts, with a GateError', async () => {
    const f = fixture();
    const silent = await f.silentServer();
    try {
      await using(f.sourceAt(silent.address, '5s'), async (src) => {
        const t0 = Date.now();
        const p = src.authenticate(f.user.username, f.user.password, { ...ctx, signal: AbortSignal.timeout(200) });
        await assert.rejects(p, (err: unknown) => isGateError(err));
        // The source's own timeout is 5 s: ending within 2 s means the signal was honoured.
        assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
      });
    } finally {
      await silent.stop();
    }
  });

  it('contract: close() may be called twice, also on a source that never connected', async () => {
    const f = fixture();
    const used = f.source();
    await used.authenticate(f.user.username, f.user.password, ctx);
    await used.close();
    await used.close();
    const unused = f.source();
    await unused.close();
    await unused.close();
  });
}
