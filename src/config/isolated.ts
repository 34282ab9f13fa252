// `serve` reads its config in a child process (isolated-child.ts) and gets back plain data. A
// gateway runs for months; the config's parser (yaml), its schemas (zod, about a hundred
// modules) and the garbage of one validation pass were about 8 MiB of a 101 MiB idle gateway
// (measured, issue 11: idle RSS at most 80 MiB) that only start-up and each reload used. Loaded
// modules cannot be unloaded, and a worker thread leaves its allocations in this process's
// malloc arenas; a process that exits gives everything back. The result is the same GateConfig
// `check` sees: the same code validates it, in the same environment (env, working directory) for
// ${env:} and ${file:}, and the problems come back with their paths and lines. Start-up and
// each SIGHUP reload pay one short Node process (measured: the first health answer 350 ms after
// start instead of 325).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ConfigError, GateError, type ConfigIssue, type ErrorCode } from '../errors.js';
import { compilePolicy } from '../policy/compile.js';
import type { GateConfig } from './validate.js';

/** What the child sends: the config without its compiled policy, or why there is none. */
export type IsolatedReply =
  | { ok: true; config: Omit<GateConfig, 'policy'> }
  | { ok: false; failure: 'config'; issues: ConfigIssue[] }
  | { ok: false; failure: 'gate'; code: ErrorCode; message: string }
  | { ok: false; failure: 'unexpected'; message: string };

const CHILD = fileURLToPath(new URL('./isolated-child.js', import.meta.url));

/** Reads and validates `file` in a child process; throws ConfigError or GateError as load.ts does. */
export async function loadConfigIsolated(file: string): Promise<GateConfig> {
  const reply = await new Promise<IsolatedReply>((resolve, reject) => {
    // No node flags of ours (an --inspect port, a --cpu-prof or an --import hook are meant for
    // the server); NODE_OPTIONS in the environment still applies, as it would to `check`.
    const child = fork(CHILD, [], { execArgv: [], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    // The answer is taken as soon as it comes; a child that then lingers (a library's timer) is
    // ended, and one that ends without answering is an error, never a hang or a default.
    child.once('message', (m) => {
      resolve(m as IsolatedReply);
      setTimeout(() => child.kill(), 5_000).unref();
    });
    child.once('error', (e) => reject(new GateError('ERR_CONFIG_READ', `cannot start the process that reads the configuration: ${e.message}`, { cause: e })));
    child.once('exit', (code, signal) => {
      reject(new GateError('ERR_CONFIG_READ', `the process that reads the configuration ended without an answer (${signal ?? `exit code ${code}`})`));
    });
    child.send({ file });
  });
  if (reply.ok) {
    const { config } = reply;
    // Validated in the child; compiled again here (functions and the index do not cross).
    const compiled = compilePolicy(config.policySource, { groupSeparator: config.netbox.groupSeparator });
    if (!compiled.policy) throw new ConfigError(compiled.issues.map((i) => ({ ...i, file })));
    return { ...config, policy: compiled.policy };
  }
  switch (reply.failure) {
    case 'config':
      throw new ConfigError(reply.issues);
    case 'gate':
      throw new GateError(reply.code, reply.message);
    default:
      throw new GateError('ERR_CONFIG_READ', reply.message);
  }
}
