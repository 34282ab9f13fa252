// The config fields for IP addresses and CIDR blocks, parsed by address.ts's parser.
import { z } from 'zod';
import { ADDRESS_EXAMPLE, parseAddressBlock } from './address.js';

/** zod field: a string parsed into an AddressBlock, with the reason on failure. */
export const addressBlockSchema = z.string({ error: `expected an IP address or CIDR block ${ADDRESS_EXAMPLE}` }).transform((s, ctx) => {
  const r = parseAddressBlock(s);
  if (!r.ok) {
    ctx.addIssue({ code: 'custom', message: r.reason });
    return z.NEVER;
  }
  return r.block;
});

/** As addressBlockSchema, refusing /0: a list of *trusted* peers must not include everyone. */
export const trustedBlockSchema = addressBlockSchema.refine((b) => b.prefix > 0, 'a /0 block trusts every address on the internet');
