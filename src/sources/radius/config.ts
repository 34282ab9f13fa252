// Config of a RADIUS source (Cisco ISE, FreeRADIUS, NPS): servers tried in order, one shared
// secret, where roles and profile fields come from, and optional RFC 2866 accounting.
import { z } from 'zod';
import { duration, hostPort, profileMapping, secret, sourceBase } from '../../config/common.js';

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** A vendor-specific attribute the dictionary does not know yet (RFC 2865 §5.26 layout). */
export const radiusVsaSchema = z.strictObject({
  vendorId: z.number().int().min(1).max(0xffffff),
  type: z.number().int().min(1).max(255),
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,62}$/, 'use letters, digits and "-" (e.g. "Aruba-Admin-Role")'),
  /** How the value is shown to the policy; most role-carrying VSAs are text. */
  format: z.enum(['string', 'integer', 'ipaddr', 'octets']).default('string'),
});

export const radiusSourceSchema = z.strictObject({
  kind: z.literal('radius'),
  ...sourceBase,
  /** Tried in this order, the next one only when a server does not answer (never after a reject). */
  servers: z.array(hostPort(1812)).min(1),
  secret,
  /** Sent in every request so the server can tell the gateway apart from other NAS clients. */
  nasIdentifier: z.string().min(1).max(253).default('netbox-gate'),
  nasIpAddress: z.string().regex(IPV4_RE, 'expected an IPv4 address').optional(),
  /** Wait for one reply; each retry resends the same packet (same identifier and authenticator). */
  timeout: duration.prefault('3s'),
  retries: z.number().int().min(0).max(5).default(1),
  /** A server that did not answer is asked last for this long, so sign-ins do not wait on it each time. */
  holdDown: duration.prefault('30s'),
  /** Attributes (dictionary names) whose values become the identity's groups. */
  roleAttributes: z.array(z.string().min(1)).default(['Class', 'Filter-Id', 'Cisco-AVPair']),
  /** Attributes carrying `key=value` AV pairs; only values with one of the prefixes below are roles. */
  avpairAttributes: z.array(z.string().min(1)).default(['Cisco-AVPair']),
  avpairRolePrefixes: z.array(z.string().min(1)).default(['shell:role=', 'role=']),
  dictionary: z.array(radiusVsaSchema).default([]),
  /** Attribute names (as in the dictionary) holding first name, last name and email. */
  profile: profileMapping,
  accounting: z
    .strictObject({
      servers: z.array(hostPort(1813)).min(1),
      /** Defaults to the authentication secret. */
      secret: secret.optional(),
    })
    .optional(),
});

export type RadiusSourceInput = z.input<typeof radiusSourceSchema>;
export type RadiusSourceConfig = z.output<typeof radiusSourceSchema>;
export type RadiusVsa = z.output<typeof radiusVsaSchema>;
