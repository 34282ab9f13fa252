// The real NetBox 4.7 test environment: remote-user auth with group sync, admin API token,
// Django context access. Needs root (chroot); first build ~7 min, then ~10 s per start.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startNetbox, type NetboxInstance } from '../support/netbox.js';

const REMOTE_AUTH = `
REMOTE_AUTH_ENABLED = True
REMOTE_AUTH_BACKEND = 'netbox.authentication.RemoteUserBackend'
REMOTE_AUTH_HEADER = 'HTTP_X_REMOTE_USER'
REMOTE_AUTH_AUTO_CREATE_USER = True
REMOTE_AUTH_GROUP_SYNC_ENABLED = True
REMOTE_AUTH_GROUP_HEADER = 'HTTP_X_REMOTE_USER_GROUPS'
REMOTE_AUTH_SUPERUSER_GROUPS = ['netbox-gate-superusers']
REMOTE_AUTH_AUTO_CREATE_GROUPS = True
`;

describe('NetBox 4.7 environment', { timeout: 20 * 60_000 }, () => {
  let nb: NetboxInstance;

  before(async () => {
    nb = await startNetbox({ remoteAuthPython: REMOTE_AUTH });
  });
  after(async () => {
    await nb?.stop();
  });

  it('answers the API with the admin token', async () => {
    const res = await nb.api('GET', '/api/status/');
    assert.equal(res.status, 200);
    assert.match(String(res.body['netbox-version']), /^4\.7\./);
    const me = await nb.api('GET', '/api/users/users/?username=admin');
    assert.equal(me.status, 200);
    assert.equal(me.body.count, 1);
  });

  it('creates a remote user with synced groups from the headers', async () => {
    const res = await fetch(nb.url + '/', {
      headers: { 'X-Remote-User': 'bob', 'X-Remote-User-Groups': 'a|b' },
      redirect: 'manual',
    });
    assert.equal(res.status, 200);
    const users = await nb.api('GET', '/api/users/users/?username=bob');
    assert.equal(users.status, 200);
    assert.equal(users.body.count, 1);
    const groups = (users.body.results[0].groups as { name: string }[]).map((g) => g.name).sort();
    assert.deepEqual(groups, ['a', 'b']);
  });

  it('runs Python in the Django context', async () => {
    const out = await nb.python(
      "from users.models import User\nu = User.objects.get(username='bob')\nprint(u.is_superuser, sorted(g.name for g in u.groups.all()))",
    );
    assert.equal(out.trim(), "False ['a', 'b']");
  });
});
