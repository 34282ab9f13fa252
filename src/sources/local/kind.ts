// The local (break-glass) source kind: schema, reading the users file at config load (so `check`
// and a SIGHUP reload see its problems, each with file and line) and notices.
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineSourceKind, type SourceIssue } from '../definition.js';
import { localSourceSchema, type LocalSourceConfig } from './config.js';
import { ARGON2_MISSING, argon2Available } from './password-hash.js';
import { parseUsersFile } from './users-file.js';

export const localKind = defineSourceKind({
  kind: 'local',
  schema: localSourceSchema,
  resolve(parsed, ctx): { config?: LocalSourceConfig; issues: SourceIssue[] } {
    if (!argon2Available) return { issues: [{ path: 'kind', message: ARGON2_MISSING }] };
    const file = resolve(ctx.baseDir, parsed.usersFile);
    let text: string;
    let mode: number;
    try {
      text = readFileSync(file, 'utf8');
      mode = statSync(file).mode;
    } catch (err) {
      return { issues: [{ path: 'usersFile', message: `cannot read users file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}` }] };
    }
    const { users, issues } = parseUsersFile(text, file);
    if (issues.length > 0) {
      return { issues: issues.map((i) => ({ path: 'usersFile', message: `${file}${i.line === undefined ? '' : `:${i.line}`}: ${i.message}` })) };
    }
    return { config: { ...parsed, usersFile: file, users, worldReadable: (mode & 0o004) !== 0 }, issues: [] };
  },
  notices(cfg) {
    const out: SourceIssue[] = [];
    if (cfg.users.length === 0) out.push({ path: 'usersFile', message: `${cfg.usersFile} lists no users: nobody can sign in with this source` });
    // The decoy for unknown names costs what the first user's hash costs: with mixed costs the
    // time a refusal takes could tell an unknown name from a user with a different cost.
    const costs = new Set(cfg.users.map((u) => `m=${u.hash.params.memory},t=${u.hash.params.passes},p=${u.hash.params.parallelism}`));
    if (costs.size > 1) out.push({ path: 'usersFile', message: `${cfg.usersFile} mixes hash costs (${[...costs].join('; ')}): make every hash with the same settings so refusals take the same time` });
    if (cfg.worldReadable) out.push({ path: 'usersFile', message: `${cfg.usersFile} is readable by every account on this machine; chmod o-r it (docs/break-glass.md)` });
    return out;
  },
});
