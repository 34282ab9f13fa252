// The users file in both formats: what loads, and every problem reported with its line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseUsersFile } from '../../../src/sources/local/users-file.js';

const H = '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc';

describe('users file, name:hash lines', () => {
  it('reads users, groups, comments and blank lines', () => {
    const r = parseUsersFile(`# break-glass accounts\n\nops-root:${H}:break-glass, netbox-admin\nauditor:${H}\n`, 'users.txt');
    assert.deepEqual(r.issues, []);
    assert.deepEqual(r.users.map((u) => [u.name, u.groups]), [['ops-root', ['break-glass', 'netbox-admin']], ['auditor', []]]);
    assert.equal(r.users[0]!.hash.params.memory, 65536);
  });

  it('names the line of every problem', () => {
    const r = parseUsersFile([`ok:${H}`, 'nohash', `bad name:${H}`, 'weak:$2b$10$abcdefghijklmnopqrstuu', `ok:${H}:x`, `a:${H}:b:c`].join('\n'), 'users');
    assert.deepEqual(r.issues.map((i) => i.line), [2, 3, 4, 5, 6]);
    assert.match(r.issues[0]!.message, /expected name:hash/);
    assert.match(r.issues[1]!.message, /user name "bad name" must be/);
    assert.match(r.issues[2]!.message, /user "weak": bcrypt hashes are not supported/);
    assert.match(r.issues[3]!.message, /user "ok" is listed twice/);
    assert.match(r.issues[4]!.message, /expected name:hash/);
  });

  it('an empty file has no users and no problems', () => {
    assert.deepEqual(parseUsersFile('\n# nobody yet\n', 'users'), { users: [], issues: [] });
  });
});

describe('users file, YAML', () => {
  it('reads name, hash, groups and profile fields', () => {
    const text = `users:\n  - name: ops-root\n    hash: "${H}"\n    groups: [break-glass]\n    email: ops@example.org\n    firstName: Ops\n    lastName: Root\n  - name: second\n    hash: ${H}\n    groups: netbox-admin\n`;
    const r = parseUsersFile(text, '/etc/netbox-gate/users.yaml');
    assert.deepEqual(r.issues, []);
    assert.deepEqual(
      r.users.map(({ hash: _h, ...u }) => u),
      [
        { name: 'ops-root', groups: ['break-glass'], email: 'ops@example.org', firstName: 'Ops', lastName: 'Root' },
        { name: 'second', groups: ['netbox-admin'] },
      ],
    );
  });

  it('names the line of every problem', () => {
    const text = [
      'users:',
      `  - name: a`, // 2
      `    hash: "${H}"`,
      `  - name: b`, // 4
      `  - name: c`, // 5
      `    hash: "not-a-hash"`, // 6
      `  - name: d`, // 7
      `    hash: "${H}"`,
      `    groups: { admin: true }`, // 9
      `  - name: e`, // 10
      `    hash: "${H}"`,
      `    role: admin`, // 12
      `  - name: a`, // 13
      `    hash: "${H}"`,
    ].join('\n');
    const r = parseUsersFile(text, 'users.yml');
    assert.deepEqual(
      r.issues.map((i) => [i.line, i.message.replace(/ \(.*/, '')]),
      [
        [4, 'users[1]: user "b": hash: required'],
        [6, 'users[2]: user "c": expected an argon2id PHC string: $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>'],
        [9, 'users[3]: user "d": groups: expected a list of group names'],
        [12, 'users[4]: unknown key "role"'],
        [13, 'user "a" is listed twice'],
      ],
    );
  });

  it('reports YAML syntax errors and a wrong shape with their line', () => {
    const syntax = parseUsersFile('users:\n  - name: a\n   hash: [\n', 'u.yaml');
    assert.ok(syntax.issues.length > 0 && syntax.issues.every((i) => typeof i.line === 'number'), JSON.stringify(syntax.issues));
    const shape = parseUsersFile('alice: x\n', 'u.yaml');
    assert.deepEqual(shape.issues.map((i) => i.line), [1]);
    assert.match(shape.issues[0]!.message, /one key, users:/);
    const notList = parseUsersFile('users:\n  alice: x\n', 'u.yaml');
    assert.deepEqual(notList.issues.map((i) => [i.line, i.message]), [[2, 'users: expected a list of { name, hash, groups }']]);
  });

  it('an empty file or an empty list has no users and no problems', () => {
    assert.deepEqual(parseUsersFile('', 'u.yaml'), { users: [], issues: [] });
    assert.deepEqual(parseUsersFile('users: []\n', 'u.yaml'), { users: [], issues: [] });
    assert.deepEqual(parseUsersFile('users:\n', 'u.yaml'), { users: [], issues: [] });
  });
});
