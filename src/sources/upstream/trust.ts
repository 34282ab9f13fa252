// Decides whether a TCP peer may assert identity: a node:net BlockList compiled at start-up
// from trustedAddresses, checked against the socket address only (never X-Forwarded-For).
import { BlockList, isIP } from 'node:net';
import type { UpstreamSourceConfig } from './config.js';

export type TrustCheck = (remoteAddress: string | undefined) => boolean;

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

export function compileTrust(blocks: UpstreamSourceConfig['trustedAddresses']): TrustCheck {
  const list = new BlockList();
  for (const b of blocks) list.addSubnet(b.address, b.prefix, b.family);
  return (remoteAddress) => {
    if (!remoteAddress) return false;
    // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d; compare them as IPv4 so a
    // configured 10.0.0.0/8 matches. Zone ids (fe80::1%eth0) are not part of the address.
    let addr = remoteAddress.split('%')[0]!;
    const mapped = MAPPED_V4.exec(addr);
    if (mapped) addr = mapped[1]!;
    const family = isIP(addr);
    if (family === 0) return false;
    return list.check(addr, family === 4 ? 'ipv4' : 'ipv6');
  };
}
