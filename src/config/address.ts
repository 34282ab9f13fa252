// The one parser for IP addresses and CIDR blocks (server.trustedProxies, an upstream source's
// trustedAddresses) and the one place that matches a peer against them: what `check` accepts is
// exactly what the gateway can put in a node:net BlockList, so a config never fails at start-up.
// No zod here: the serving process matches addresses without loading the config schemas
// (address-schema.ts has the config fields; docs/performance.md, idle RSS).
import { BlockList, isIPv4, isIPv6 } from 'node:net';

export type AddressFamily = 'ipv4' | 'ipv6';

/** A parsed address or block; a single address is a block with the full prefix (/32, /128). */
export interface AddressBlock {
  readonly address: string;
  readonly prefix: number;
  readonly family: AddressFamily;
}

export type AddressBlockResult = { ok: true; block: AddressBlock } | { ok: false; reason: string };

export const ADDRESS_EXAMPLE = 'such as 10.0.0.0/8, 192.0.2.7 or fd00::/8';

/** Parses "a.b.c.d", "a.b.c.d/n", an IPv6 address or block; IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes IPv4. */
export function parseAddressBlock(input: string): AddressBlockResult {
  const text = input.trim();
  const fail = (why: string): AddressBlockResult => ({ ok: false, reason: `"${input}" is not an IP address or CIDR block: ${why}` });
  const [addr = '', bits, ...extra] = text.split('/');
  if (extra.length > 0) return fail('more than one "/"');
  let family: AddressFamily;
  let address = addr;
  let hextets: number[] | undefined;
  if (addr.includes(':')) {
    if (addr.includes('%')) return fail('zone ids such as %eth0 are not allowed');
    if (!isIPv6(addr)) {
      const v4 = /(?:^|:)([\d.]+)$/.exec(addr)?.[1];
      const why = v4?.includes('.') ? ipv4Problem(v4) : undefined;
      return fail(why ? `the embedded IPv4 part: ${why}` : `not a valid IPv6 address (${ADDRESS_EXAMPLE})`);
    }
    family = 'ipv6';
    hextets = ipv6Hextets(addr);
  } else if (/^[\d.]+$/.test(addr)) {
    const why = ipv4Problem(addr);
    if (why) return fail(why);
    family = 'ipv4';
  } else {
    return fail(addr === '' ? `empty address (${ADDRESS_EXAMPLE})` : `expected a numeric address ${ADDRESS_EXAMPLE}; host names are not resolved`);
  }
  const max = family === 'ipv4' ? 32 : 128;
  let prefix = max;
  if (bits !== undefined) {
    if (!/^\d{1,3}$/.test(bits)) return fail(`the prefix length "/${bits}" is not a number`);
    prefix = Number(bits);
    if (prefix > max) return fail(`the prefix length /${prefix} is longer than ${max} bits (${family === 'ipv4' ? 'IPv4' : 'IPv6'})`);
  }
  // ::ffff:a.b.c.d is how a dual-stack socket reports an IPv4 peer; peers are matched as IPv4
  // (see normalizePeerAddress), so a mapped block is stored as the IPv4 block it stands for.
  if (hextets && isMapped(hextets) && prefix >= 96) {
    address = mappedIPv4(hextets);
    family = 'ipv4';
    prefix -= 96;
  }
  return { ok: true, block: { address, prefix, family } };
}

/** Why a dotted string is not an IPv4 address, or undefined when it is one. */
function ipv4Problem(addr: string): string | undefined {
  const parts = addr.split('.');
  if (parts.length !== 4) return `an IPv4 address has four numbers separated by "." (${ADDRESS_EXAMPLE})`;
  for (const p of parts) {
    if (p === '') return 'an empty octet';
    if (!/^\d+$/.test(p)) return `"${p}" is not a number`;
    if (Number(p) > 255) return `${p} is not an octet (0-255)`;
    // inet_aton reads 010 as octal 8, others as decimal 10: refuse rather than guess.
    if (p.length > 1 && p.startsWith('0')) return `"${p}" has a leading zero (octal or decimal?)`;
  }
  return undefined;
}

/** The eight 16-bit groups of a valid IPv6 address (isIPv6 already said yes). */
function ipv6Hextets(addr: string): number[] {
  let s = addr;
  const tail: number[] = [];
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    s = s.slice(0, -v4[0].length);
    if (s.endsWith(':') && !s.endsWith('::')) s = s.slice(0, -1);
  }
  const hex = (part: string) => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const [head = '', rest] = s.split('::');
  const left = hex(head);
  const right = rest === undefined ? [] : hex(rest);
  const zeros = 8 - left.length - right.length - tail.length;
  return [...left, ...new Array<number>(Math.max(zeros, 0)).fill(0), ...right, ...tail];
}

const isMapped = (h: number[]) => h.slice(0, 5).every((x) => x === 0) && h[5] === 0xffff;
const mappedIPv4 = (h: number[]) => `${h[6]! >> 8}.${h[6]! & 255}.${h[7]! >> 8}.${h[7]! & 255}`;

/** Builds the BlockList once at start-up; cannot throw for blocks that came through the parser. */
export function buildBlockList(blocks: readonly AddressBlock[]): BlockList {
  const list = new BlockList();
  for (const b of blocks) list.addSubnet(b.address, b.prefix, b.family);
  return list;
}

/**
 * A socket's remote address as the parser would store it: zone id dropped, IPv4-mapped IPv6
 * (::ffff:a.b.c.d from a dual-stack listener) turned into IPv4. Undefined when not an address.
 */
export function normalizePeerAddress(remoteAddress: string | undefined): { address: string; family: AddressFamily } | undefined {
  if (!remoteAddress) return undefined;
  // Per request: node's own checks first, the hextet walk only for IPv6.
  const address = remoteAddress.split('%')[0]!;
  if (isIPv4(address)) return { address, family: 'ipv4' };
  if (!isIPv6(address)) return undefined;
  const h = ipv6Hextets(address);
  if (!isMapped(h)) return { address, family: 'ipv6' };
  return { address: mappedIPv4(h), family: 'ipv4' };
}

/** Whether a peer address is in the list (after normalizePeerAddress); never throws. */
export function blockListHas(list: BlockList, remoteAddress: string | undefined): boolean {
  const peer = normalizePeerAddress(remoteAddress);
  return peer !== undefined && list.check(peer.address, peer.family);
}

/** buildBlockList + blockListHas in one: a predicate over socket addresses. */
export function compileAddressMatcher(blocks: readonly AddressBlock[]): (remoteAddress: string | undefined) => boolean {
  const list = buildBlockList(blocks);
  return (remoteAddress) => blockListHas(list, remoteAddress);
}
