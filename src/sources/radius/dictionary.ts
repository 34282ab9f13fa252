// A small RADIUS dictionary: names and value formats of the attributes a sign-in reply carries,
// plus the VSAs network teams use for roles. Decodes raw attributes into named JSON values.
import type { AttributeValue, Attributes } from '../../types.js';
import { ATTR, type RawAttribute } from './packet.js';

/** 'string' falls back to `0x<hex>` when the octets are not printable UTF-8. */
export type ValueFormat = 'string' | 'integer' | 'ipaddr' | 'octets';

interface Definition {
  name: string;
  format: ValueFormat;
}

/** RFC 2865/2866/2869 attributes that can appear in replies or that we send. */
const STANDARD: Record<number, Definition> = {
  1: { name: 'User-Name', format: 'string' },
  4: { name: 'NAS-IP-Address', format: 'ipaddr' },
  5: { name: 'NAS-Port', format: 'integer' },
  6: { name: 'Service-Type', format: 'integer' },
  7: { name: 'Framed-Protocol', format: 'integer' },
  8: { name: 'Framed-IP-Address', format: 'ipaddr' },
  11: { name: 'Filter-Id', format: 'string' },
  12: { name: 'Framed-MTU', format: 'integer' },
  18: { name: 'Reply-Message', format: 'string' },
  // Class is octets by the RFC, but ISE, NPS and FreeRADIUS put role names in it.
  25: { name: 'Class', format: 'string' },
  27: { name: 'Session-Timeout', format: 'integer' },
  28: { name: 'Idle-Timeout', format: 'integer' },
  29: { name: 'Termination-Action', format: 'integer' },
  30: { name: 'Called-Station-Id', format: 'string' },
  31: { name: 'Calling-Station-Id', format: 'string' },
  32: { name: 'NAS-Identifier', format: 'string' },
  40: { name: 'Acct-Status-Type', format: 'integer' },
  44: { name: 'Acct-Session-Id', format: 'string' },
  45: { name: 'Acct-Authentic', format: 'integer' },
  46: { name: 'Acct-Session-Time', format: 'integer' },
  49: { name: 'Acct-Terminate-Cause', format: 'integer' },
  55: { name: 'Event-Timestamp', format: 'integer' },
  61: { name: 'NAS-Port-Type', format: 'integer' },
  64: { name: 'Tunnel-Type', format: 'octets' },
  81: { name: 'Tunnel-Private-Group-Id', format: 'octets' },
  85: { name: 'Acct-Interim-Interval', format: 'integer' },
  87: { name: 'NAS-Port-Id', format: 'string' },
};

/**
 * Never exposed to the policy or explain output: secrets, opaque server state, and the
 * authenticator itself.
 */
const HIDDEN = new Set<number>([ATTR.USER_PASSWORD, 3 /* CHAP-Password */, 24 /* State */, 33 /* Proxy-State */, 79 /* EAP-Message */, ATTR.MESSAGE_AUTHENTICATOR]);

/** Attributes that carry one value per packet; every other attribute is always an array. */
const SINGLE = new Set(['User-Name', 'NAS-IP-Address', 'NAS-Port', 'Service-Type', 'Session-Timeout', 'Idle-Timeout', 'NAS-Identifier']);

export interface VendorAttribute {
  vendorId: number;
  type: number;
  name: string;
  format: ValueFormat;
}

/** VSAs that carry roles on common network gear (RFC 2865 §5.26 layout: type, length, value). */
export const BUILTIN_VSAS: readonly VendorAttribute[] = [
  { vendorId: 9, type: 1, name: 'Cisco-AVPair', format: 'string' },
  { vendorId: 2636, type: 1, name: 'Juniper-Local-User-Name', format: 'string' },
  { vendorId: 12356, type: 1, name: 'Fortinet-Group-Name', format: 'string' },
  { vendorId: 14823, type: 1, name: 'Aruba-User-Role', format: 'string' },
  { vendorId: 25461, type: 1, name: 'PaloAlto-Admin-Role', format: 'string' },
];

export class Dictionary {
  private readonly vsas = new Map<string, VendorAttribute>();

  constructor(extra: readonly VendorAttribute[] = []) {
    for (const v of [...BUILTIN_VSAS, ...extra]) this.vsas.set(`${v.vendorId}:${v.type}`, v);
  }

  /** Named, JSON-safe attributes of a reply; unknown ones as `Attr-<n>` / `Vendor-<id>-Attr-<n>`. */
  decode(attributes: readonly RawAttribute[]): Attributes {
    const out: Attributes = {};
    const add = (name: string, value: AttributeValue): void => {
      if (SINGLE.has(name)) {
        if (!Object.hasOwn(out, name)) out[name] = value;
        return;
      }
      const list = out[name];
      if (Array.isArray(list)) list.push(value);
      else out[name] = [value];
    };
    for (const a of attributes) {
      if (HIDDEN.has(a.type)) continue;
      if (a.type === ATTR.VENDOR_SPECIFIC) {
        this.decodeVsa(a.value, add);
        continue;
      }
      const def = STANDARD[a.type];
      if (def) add(def.name, decodeValue(a.value, def.format));
      else add(`Attr-${a.type}`, decodeValue(a.value, 'octets'));
    }
    return out;
  }

  private decodeVsa(value: Buffer, add: (name: string, v: AttributeValue) => void): void {
    if (value.length < 4) {
      add('Vendor-Specific', decodeValue(value, 'octets'));
      return;
    }
    const vendorId = value.readUInt32BE(0);
    const subs: RawAttribute[] = [];
    let off = 4;
    // Some vendors use other sub-attribute layouts; if it does not parse as RFC 2865 §5.26,
    // keep it whole as octets rather than guess.
    while (off < value.length) {
      const len = value[off + 1];
      if (len === undefined || len < 2 || off + len > value.length) {
        add(`Vendor-${vendorId}`, decodeValue(value.subarray(4), 'octets'));
        return;
      }
      subs.push({ type: value[off]!, value: value.subarray(off + 2, off + len) });
      off += len;
    }
    for (const s of subs) {
      const def = this.vsas.get(`${vendorId}:${s.type}`);
      if (def) add(def.name, decodeValue(s.value, def.format));
      else add(`Vendor-${vendorId}-Attr-${s.type}`, decodeValue(s.value, 'octets'));
    }
  }
}

function isPrintableUtf8(buf: Buffer): boolean {
  if (buf.length === 0) return true;
  const s = buf.toString('utf8');
  // A round trip that changes the bytes means invalid UTF-8; control characters mean binary.
  return Buffer.from(s, 'utf8').equals(buf) && !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s);
}

export function decodeValue(value: Buffer, format: ValueFormat): AttributeValue {
  switch (format) {
    case 'string':
      return isPrintableUtf8(value) ? value.toString('utf8') : `0x${value.toString('hex')}`;
    case 'integer':
      return value.length === 4 ? value.readUInt32BE(0) : `0x${value.toString('hex')}`;
    case 'ipaddr':
      return value.length === 4 ? Array.from(value).join('.') : `0x${value.toString('hex')}`;
    case 'octets':
      return `0x${value.toString('hex')}`;
  }
}
