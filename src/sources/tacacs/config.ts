// Config of a TACACS+ source (RFC 8907): servers tried in order, shared secret, PAP or ASCII
// login, and the authorization request whose AV pairs become groups and attributes.
import { z } from 'zod';
import { duration, hostPort, profileMapping, secret, sourceBase } from '../../config/common.js';

/** An AV pair as sent on the wire: `name=value` (mandatory) or `name*value` (optional). */
const avPair = z
  .string()
  .max(255, 'an AV pair is at most 255 bytes on the wire')
  .regex(/^[^=*]+[=*]/, 'expected "name=value" or "name*value"');

export const tacacsSourceSchema = z.strictObject({
  kind: z.literal('tacacs'),
  ...sourceBase,
  /** `host[:port]`, default port 49. Tried in order, the next only on timeout or network error. */
  servers: z.array(hostPort(49)).min(1, 'list at least one TACACS+ server'),
  secret,
  /** PAP sends the password in START; ASCII answers the server's GETUSER/GETPASS prompts. */
  authenType: z.enum(['pap', 'ascii']).default('pap'),
  /** Bound on connecting and on every single read. */
  timeout: duration.prefault('5s'),
  /** How long a server that timed out or refused is skipped (unless every server is held down). */
  holdDown: duration.prefault('30s'),
  /** Ask for RFC 8907 single-connection mode; the connection is reused only if the server agrees. */
  singleConnection: z.boolean().default(false),
  authorization: z
    .strictObject({
      /** Skip the authorization REQUEST: authentication alone grants access and no AV pairs arrive. */
      enabled: z.boolean().default(true),
      service: z.string().min(1).max(200).default('shell'),
      protocol: z.string().min(1).max(200).optional(),
      /** Further pairs sent in the REQUEST, e.g. "cmd*" or "netbox-app=gate". */
      extraArgs: z.array(avPair).default([]),
    })
    .prefault({}),
  /** AV pair names whose values become groups (`role=netbox-admin` -> group "netbox-admin"). */
  rolePairs: z.array(z.string().min(1)).default(['role']),
  /** Split role values on this string (e.g. " " for NX-OS `shell:roles="a b"`); whole value when unset. */
  roleSeparator: z.string().min(1).optional(),
  /** `priv-lvl=15` also yields the group `<prefix>15`; set to "" to turn that off. */
  privLvlGroupPrefix: z.string().max(64).default('tacacs-priv-'),
  /** AV pair names for NetBox's first name, last name and email. */
  profile: profileMapping,
  /** Accept replies with TAC_PLUS_UNENCRYPTED_FLAG (body not obfuscated). Only for lab servers. */
  insecureAllowUnencrypted: z.boolean().default(false),
  /** The `port` field of START/REQUEST, which servers often log or match on. */
  port: z.string().max(255).default('netbox-gate'),
});

export type TacacsSourceInput = z.input<typeof tacacsSourceSchema>;
export type TacacsSourceConfig = z.output<typeof tacacsSourceSchema>;
