// Config of a local source: break-glass accounts kept in a file of argon2id hashes next to the
// gateway, for the day the IdP or the AAA servers are down.
import { z } from 'zod';
import { sourceBase } from '../../config/common.js';
import type { LocalUser } from './users-file.js';

export const localSourceSchema = z.strictObject({
  kind: z.literal('local'),
  ...sourceBase,
  /**
   * YAML (*.yaml, *.yml) or `name:hash[:groups]` lines; relative to the config file. Read when
   * the config is loaded, so `check` validates it and SIGHUP picks up changes.
   */
  usersFile: z.string().min(1),
});

export type LocalSourceInput = z.input<typeof localSourceSchema>;
export type LocalSourceParsed = z.output<typeof localSourceSchema>;

/** After resolution: the absolute path and the users read from it. */
export interface LocalSourceConfig extends LocalSourceParsed {
  users: readonly LocalUser[];
  /** The users file is readable by every account on the machine (mode o+r). */
  worldReadable: boolean;
}
