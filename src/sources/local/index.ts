// The local identity source: break-glass accounts checked against argon2id hashes from the users
// file. Unknown users are checked against a decoy hash of the same cost, so the time a refusal
// takes does not tell who exists; every refusal is ERR_AUTH_REJECTED, so the password form's
// rate limits and audit lines apply as for RADIUS, TACACS+ and LDAP.
import { GateError } from '../../errors.js';
import type { Attributes, Identity } from '../../types.js';
import type { PasswordSource, SignInResult, SourceDeps } from '../source.js';
import type { LocalSourceConfig } from './config.js';
import { decoyHash, DEFAULT_PARAMS, verifyPassword, type PasswordHash } from './password-hash.js';
import type { LocalUser } from './users-file.js';

export type { LocalSourceConfig, LocalSourceInput } from './config.js';

// Each check holds tens of MiB for a fraction of a second on libuv's thread pool (4 threads by
// default, shared with file and DNS work): at most two at once, and a bounded queue behind them,
// so a burst of guesses from many addresses cannot take the gateway's memory or its thread pool.
const MAX_CONCURRENT = 2;
const MAX_QUEUED = 64;

function createGate(max: number, maxQueued: number) {
  let running = 0;
  const queue: Array<() => void> = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (running >= max) {
      if (queue.length >= maxQueued) throw new GateError('ERR_SOURCE_UNAVAILABLE', 'Too many password checks in progress; try again shortly');
      await new Promise<void>((r) => queue.push(r));
    } else running++;
    try {
      return await fn();
    } finally {
      const next = queue.shift();
      if (next) next();
      else running--;
    }
  };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Pure: the identity for a users-file entry given as attributes ({ username, groups, email, ... }). */
export function identityFromLocalAttributes(sourceId: string, attrs: Attributes): Identity {
  const username = str(attrs.username) ?? '';
  const groups = Array.isArray(attrs.groups) ? attrs.groups.filter((g): g is string => typeof g === 'string' && g !== '') : [];
  const identity: Identity = { sourceId, sourceKind: 'local', subject: username, username, groups: [...new Set(groups)], attributes: attrs };
  const email = str(attrs.email);
  const firstName = str(attrs.firstName);
  const lastName = str(attrs.lastName);
  if (email) identity.email = email;
  if (firstName) identity.firstName = firstName;
  if (lastName) identity.lastName = lastName;
  return identity;
}

function attributesOf(user: LocalUser): Attributes {
  const a: Attributes = { username: user.name, groups: [...user.groups] };
  if (user.email) a.email = user.email;
  if (user.firstName) a.firstName = user.firstName;
  if (user.lastName) a.lastName = user.lastName;
  return a;
}

export function createLocalSource(config: LocalSourceConfig, deps: SourceDeps): PasswordSource {
  const logger = deps.logger.child({ kind: 'local' });
  const users = new Map(config.users.map((u) => [u.name, u]));
  // The decoy costs what the file's accounts cost (they are usually made with the same defaults).
  const decoy: PasswordHash = decoyHash(config.users[0]?.hash.params ?? DEFAULT_PARAMS);
  const gate = createGate(MAX_CONCURRENT, MAX_QUEUED);

  const identityFromAttributes = (attrs: Attributes) => identityFromLocalAttributes(config.id, attrs);

  async function authenticate(username: string, password: string): Promise<SignInResult> {
    if (password === '') throw new GateError('ERR_AUTH_REJECTED', 'Empty password', { detail: { reason: 'empty_password' } });
    const user = users.get(username);
    // Always one full argon2id computation, for known and unknown names alike.
    const ok = await gate(() => verifyPassword(password, user?.hash ?? decoy));
    if (!user || !ok) {
      // The log says which, for the operator; the user only ever sees the one generic message.
      const reason = user ? 'wrong_password' : 'unknown_user';
      logger.info({ username, reason }, 'local sign-in rejected');
      throw new GateError('ERR_AUTH_REJECTED', 'Invalid username or password', { detail: { reason } });
    }
    const identity = identityFromAttributes(attributesOf(user));
    logger.warn({ username: identity.username, groups: identity.groups }, 'local (break-glass) sign-in accepted');
    return { identity, state: {} };
  }

  return {
    id: config.id,
    kind: 'local',
    flow: 'password',
    displayName: config.displayName ?? 'Local account',
    identityFromAttributes,
    authenticate,
    async close() {},
  };
}
