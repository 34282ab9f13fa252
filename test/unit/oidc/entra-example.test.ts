// examples/entra.yaml loads as a whole config and decides as NetBox Enterprise's
// AZUREAD_USER_FLAGS_BY_GROUP + AZUREAD_GROUP_MAP example does (the seed docs/entra.md quotes).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfigText } from '../../../src/config/load.js';
import { decide } from '../../../src/policy/evaluate.js';
import type { Identity } from '../../../src/types.js';

const file = fileURLToPath(new URL('../../../../examples/entra.yaml', import.meta.url));
const cfg = parseConfigText(readFileSync(file, 'utf8'), file, { ENTRA_CLIENT_SECRET: 'example-secret' });

const ADMINS = 'a1b2c3d4-e5f6-7890-1234-567890abcdef';
const SUPER = '11111111-2222-3333-4444-555555555555';
const ENGINEERS = 'b2c3d4e5-f6a7-8901-2345-678901bcdef0';

const who = (groups: string[], roles: string[] = []): Identity => ({
  sourceId: 'entra',
  sourceKind: 'oidc',
  subject: 's',
  username: 'alice@contoso.test',
  groups,
  attributes: { roles },
});

describe('examples/entra.yaml', () => {
  it('derives the v2.0 issuer and asks for a refresh token and Graph User.Read', () => {
    const src = cfg.sources[0]!;
    assert.equal(src.kind, 'oidc');
    if (src.kind !== 'oidc') return;
    assert.equal(src.issuer, 'https://login.microsoftonline.com/aaaabbbb-0000-cccc-1111-dddd2222eeee/v2.0');
    assert.deepEqual(src.scopes, ['openid', 'profile', 'email', 'offline_access', 'https://graph.microsoft.com/User.Read']);
    assert.equal(src.clientSecret, 'example-secret');
  });

  it('maps GUID groups to NetBox groups and flags as the Enterprise mapper example does', () => {
    const admin = decide(cfg.policy, who([ADMINS]));
    assert.deepEqual([admin.allowed, admin.groups, admin.superuser, admin.staff], [true, ['Network Admins'], false, true]);
    const root = decide(cfg.policy, who([SUPER, ENGINEERS]));
    assert.deepEqual([root.allowed, root.groups, root.superuser, root.staff], [true, ['Network Engineers'], true, true]);
    const viaRole = decide(cfg.policy, who([], ['NetBox.Read']));
    assert.deepEqual([viaRole.allowed, viaRole.groups], [true, ['Read Only Users']]);
    const stranger = decide(cfg.policy, who(['99999999-0000-0000-0000-000000000000']));
    assert.equal(stranger.allowed, false);
    assert.equal(stranger.reasonCode, 'no_allow_rule');
  });
});
