// The TACACS+ identity source (RFC 8907): PAP or ASCII login against Cisco ISE, tac_plus or ACS,
// then an authorization REQUEST whose AV pairs (role, priv-lvl, ...) become groups and attributes.
import type { Attributes, Identity } from '../../types.js';
import type { PasswordSource, SignInResult, SourceContext, SourceDeps } from '../source.js';
import { TacacsClient } from './client.js';
import type { TacacsSourceConfig } from './config.js';
import { identityFromAvPairs, identityFromExplainInput, type IdentityOptions } from './identity.js';

export type { TacacsSourceConfig, TacacsSourceInput } from './config.js';

export function createTacacsSource(config: TacacsSourceConfig, deps: SourceDeps): PasswordSource {
  const logger = deps.logger.child({ kind: 'tacacs' });
  const client = new TacacsClient(config, logger, deps.now ?? Date.now, deps.metrics);
  const identityOptions: IdentityOptions = {
    id: config.id,
    rolePairs: config.rolePairs,
    roleSeparator: config.roleSeparator,
    privLvlGroupPrefix: config.privLvlGroupPrefix,
    profile: config.profile,
  };

  const source: PasswordSource = {
    id: config.id,
    kind: 'tacacs',
    flow: 'password',
    displayName: config.displayName ?? 'TACACS+',

    identityFromAttributes(attrs: Attributes): Identity {
      return identityFromExplainInput(attrs, identityOptions);
    },

    async authenticate(username: string, password: string, ctx: SourceContext): Promise<SignInResult> {
      const result = await client.login(username, password, ctx.clientIp, ctx.signal);
      // Same path as explain: the reply's pairs go through identityFromAvPairs and nothing else.
      const identity = identityFromAvPairs(username, result.av, identityOptions);
      logger.info({ user: username, server: result.server, groups: identity.groups }, 'TACACS+ sign-in accepted');
      return { identity, state: { server: result.server } };
    },

    close: () => client.close(),
  };
  if (!config.authorization.enabled) return source;
  return {
    ...source,
    // Directory sync: authorization needs no password (RFC 8907 §6); FAIL means the server no
    // longer knows the user. The gateway's own address stands for the client.
    async lookup(username: string, ctx: SourceContext): Promise<SignInResult> {
      const result = await client.authorizeOnly(username, ctx.clientIp, ctx.signal);
      return { identity: identityFromAvPairs(username, result.av, identityOptions), state: { server: result.server } };
    },
  };
}
