// Where the config file is: shared by every command, without loading the config's parser.
import { resolve } from 'node:path';

/** --config, then NETBOX_GATE_CONFIG, then ./netbox-gate.yaml. */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag ?? env.NETBOX_GATE_CONFIG ?? 'netbox-gate.yaml');
}
