// Decides whether a TCP peer may assert identity: a node:net BlockList compiled at start-up
// from trustedAddresses, checked against the socket address only (never X-Forwarded-For).
// Parsing and matching (IPv4-mapped peers, zone ids) live in config/address.ts, shared with
// server.trustedProxies so both lists mean the same thing.
import { compileAddressMatcher, type AddressBlock } from '../../config/address.js';

export type TrustCheck = (remoteAddress: string | undefined) => boolean;

export function compileTrust(blocks: readonly AddressBlock[]): TrustCheck {
  return compileAddressMatcher(blocks);
}
