// The other half of isolated.ts: run as a child process by `serve`, it reads and validates one
// config file exactly as `check` does (load.ts) and sends the result back over the IPC channel
// (V8 serialization). The compiled policy holds functions, so it stays here; the parent compiles
// it again from policySource. Then it exits: zod, yaml and the schemas never live in the server.
import { loadConfigFile } from './load.js';
import { ConfigError, GateError } from '../errors.js';
import type { IsolatedReply } from './isolated.js';

function reply(file: string): IsolatedReply {
  try {
    const { policy: _compiled, ...config } = loadConfigFile(file);
    return { ok: true, config };
  } catch (e) {
    if (e instanceof ConfigError) return { ok: false, failure: 'config', issues: [...e.issues] };
    if (e instanceof GateError) return { ok: false, failure: 'gate', code: e.code, message: e.message };
    return { ok: false, failure: 'unexpected', message: `unexpected error while reading the configuration: ${(e as Error)?.message ?? String(e)}` };
  }
}

process.once('message', (msg: { file: string }) => {
  process.send!(reply(msg.file), () => process.disconnect());
});
