// The local source's users file: YAML (`users:` list with name, hash, groups, profile) when it is
// named *.yaml / *.yml, otherwise htpasswd-like `name:hash[:group,group]` lines. Every problem is
// reported with its line, so a typo in a break-glass account shows up in `check`, not at 3 a.m.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { parsePhc, type PasswordHash } from './password-hash.js';

export interface LocalUser {
  name: string;
  hash: PasswordHash;
  groups: string[];
  email?: string;
  firstName?: string;
  lastName?: string;
}

export interface UsersFileIssue {
  line?: number;
  message: string;
}

// NetBox's username is at most 150 characters; control characters and whitespace cannot travel
// in the remote-user header intact.
const NAME_RE = /^[^\s:\p{Cc}]{1,150}$/u;
const GROUP_RE = /^[^\p{Cc}]{1,200}$/u;
const PROFILE_KEYS = ['email', 'firstName', 'lastName'] as const;

export function isYamlUsersFile(file: string): boolean {
  return /\.ya?ml$/i.test(file);
}

/** Parses the file's text; `users` holds every valid entry, `issues` every problem. */
export function parseUsersFile(text: string, file: string): { users: LocalUser[]; issues: UsersFileIssue[] } {
  const out = isYamlUsersFile(file) ? parseYaml(text) : parseLines(text);
  const seen = new Set<string>();
  for (const { user, line } of out.entries) {
    if (seen.has(user.name)) out.issues.push({ line, message: `user "${user.name}" is listed twice` });
    seen.add(user.name);
  }
  out.issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return { users: out.entries.map((e) => e.user), issues: out.issues };
}

type Parsed = { entries: Array<{ user: LocalUser; line: number }>; issues: UsersFileIssue[] };

function checkName(name: string): string | undefined {
  return NAME_RE.test(name) ? undefined : `user name ${JSON.stringify(name)} must be 1 to 150 characters without spaces, ":" or control characters`;
}

function checkHash(name: string, text: string): PasswordHash | string {
  const h = parsePhc(text);
  return 'error' in h ? `user "${name}": ${h.error}` : h;
}

function checkGroups(name: string, groups: string[]): string | undefined {
  const bad = groups.find((g) => !GROUP_RE.test(g));
  return bad === undefined ? undefined : `user "${name}": group ${JSON.stringify(bad)} must be 1 to 200 characters without control characters`;
}

/** `name:hash` or `name:hash:group1,group2`; `#` starts a comment line. PHC strings hold no ":". */
function parseLines(text: string): Parsed {
  const res: Parsed = { entries: [], issues: [] };
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const t = raw.trim();
    if (t === '' || t.startsWith('#')) return;
    const parts = t.split(':');
    if (parts.length < 2 || parts.length > 3) return void res.issues.push({ line, message: 'expected name:hash or name:hash:group,group' });
    const [name, hashText, groupText] = parts as [string, string, string | undefined];
    const nameErr = checkName(name);
    if (nameErr) return void res.issues.push({ line, message: nameErr });
    const hash = checkHash(name, hashText);
    if (typeof hash === 'string') return void res.issues.push({ line, message: hash });
    const groups = (groupText ?? '').split(',').map((g) => g.trim()).filter((g) => g !== '');
    const groupErr = checkGroups(name, groups);
    if (groupErr) return void res.issues.push({ line, message: groupErr });
    res.entries.push({ user: { name, hash, groups: [...new Set(groups)] }, line });
  });
  return res;
}

function parseYaml(text: string): Parsed {
  const res: Parsed = { entries: [], issues: [] };
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true });
  const lineOf = (node: YamlNode | null | undefined) => (node?.range ? lines.linePos(node.range[0]).line : undefined);
  for (const e of doc.errors) {
    // The first line of yaml's message, without its "at line N, column M:" (the line is reported apart).
    const issue: UsersFileIssue = { message: (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '') };
    const line = e.linePos?.[0]?.line;
    if (line !== undefined) issue.line = line;
    res.issues.push(issue);
  }
  if (doc.errors.length > 0) return res;
  const root = doc.contents;
  if (root === null) return res; // an empty file: no users (a notice, not an error)
  const usersNode = isMap(root) ? root.get('users', true) : undefined;
  if (!isMap(root) || root.items.some((p) => !isScalar(p.key) || p.key.value !== 'users')) {
    res.issues.push(at(lineOf(root), 'expected a mapping with one key, users: (a list of { name, hash, groups })'));
    return res;
  }
  if (usersNode === null || usersNode === undefined || (isScalar(usersNode) && usersNode.value === null)) return res;
  if (!isSeq(usersNode)) {
    res.issues.push(at(lineOf(usersNode as YamlNode), 'users: expected a list of { name, hash, groups }'));
    return res;
  }
  usersNode.items.forEach((item, i) => {
    const line = lineOf(item as YamlNode) ?? 0;
    const fail = (message: string, node?: YamlNode | null) => void res.issues.push({ line: lineOf(node) ?? line, message: `users[${i}]: ${message}` });
    if (!isMap(item)) return fail('expected a mapping with name, hash and groups');
    const known = new Set(['name', 'hash', 'groups', ...PROFILE_KEYS]);
    for (const p of item.items) {
      const k = isScalar(p.key) ? String(p.key.value) : String(p.key);
      if (!known.has(k)) return fail(`unknown key "${k}" (expected name, hash, groups, email, firstName, lastName)`, p.key as YamlNode);
    }
    const str = (key: string): string | undefined | null => {
      const v = item.get(key, true);
      if (v === undefined) return undefined;
      return isScalar(v) && typeof v.value === 'string' && v.value !== '' ? v.value : null;
    };
    const name = str('name');
    if (typeof name !== 'string') return fail('name: required, a non-empty string');
    const nameErr = checkName(name);
    if (nameErr) return fail(nameErr, item.get('name', true) as YamlNode);
    const hashText = str('hash');
    if (typeof hashText !== 'string') return fail(`user "${name}": hash: required (make one with \`netbox-gate hash-password\`)`);
    const hash = checkHash(name, hashText);
    if (typeof hash === 'string') return fail(hash, item.get('hash', true) as YamlNode);
    const groupsNode = item.get('groups', true);
    let groups: string[] = [];
    if (groupsNode !== undefined) {
      const list = isSeq(groupsNode) ? groupsNode.items : isScalar(groupsNode) && typeof groupsNode.value === 'string' ? [groupsNode] : null;
      if (!list || !list.every((g) => isScalar(g) && typeof g.value === 'string')) return fail(`user "${name}": groups: expected a list of group names`, groupsNode as YamlNode);
      groups = list.map((g) => String((g as { value: string }).value).trim());
      const groupErr = checkGroups(name, groups);
      if (groupErr) return fail(groupErr, groupsNode as YamlNode);
    }
    const user: LocalUser = { name, hash, groups: [...new Set(groups)] };
    for (const k of PROFILE_KEYS) {
      const v = str(k);
      if (v === null) return fail(`user "${name}": ${k}: expected a non-empty string`, item.get(k, true) as YamlNode);
      if (v !== undefined) user[k] = v;
    }
    res.entries.push({ user, line });
  });
  return res;
}

function at(line: number | undefined, message: string): UsersFileIssue {
  return line === undefined ? { message } : { line, message };
}
