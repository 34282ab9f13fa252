// Putting user input into LDAP filters (RFC 4515) and DNs (RFC 4514) without injection, and
// reading a group's name out of its DN. Pure functions; every untrusted string passes here.
import { GateError } from '../../errors.js';
import { loadOnUse } from '../../load-on-use.js';

// ldapts loads on the first filter filled, not when the config schema imports this file (idle RSS).
const ldapts = loadOnUse<typeof import('./ldapts.js')>(import.meta.url, './ldapts.js');

/** Longest sign-in name accepted; real directories allow far less (AD: 20 for sAMAccountName). */
export const MAX_USERNAME_LENGTH = 256;
export const MAX_PASSWORD_LENGTH = 1024;

/**
 * Rejects names no directory would hold and that only serve to confuse filters, DNs or logs:
 * empty, over-long, control characters (NUL truncates in C servers), surrounding spaces
 * (LDAP matching ignores them, so "alice " would become alice).
 */
export function checkUsername(username: string): void {
  const bad = (why: string) => new GateError('ERR_AUTH_REJECTED', `user name rejected: ${why}`, { detail: { reason: 'username_invalid' } });
  if (typeof username !== 'string' || username.length === 0) throw bad('empty');
  if (username.length > MAX_USERNAME_LENGTH) throw bad(`longer than ${MAX_USERNAME_LENGTH} characters`);
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(username)) throw bad('contains control characters');
  if (username.trim() !== username) throw bad('starts or ends with white space');
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(username)) throw bad('is not well-formed Unicode');
}

/**
 * Fills `{username}` and `{dn}` in a filter template. ldapts' Filter.escape does RFC 4515
 * escaping of `* ( ) \ NUL`; non-ASCII stays as is, which its parser keeps intact (it would
 * mangle hex-escaped UTF-8 bytes back into single characters).
 */
export function fillFilter(template: string, values: { username?: string; dn?: string }): string {
  return template.replace(/\{(username|dn)\}/g, (whole, key: 'username' | 'dn') => {
    const v = values[key];
    return v === undefined ? whole : ldapts().Filter.escape(v);
  });
}

/** RFC 4514 attribute value escaping for one RDN value. */
export function escapeDnValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch === '\0') out += '\\00';
    else if ('"+,;<>\\='.includes(ch)) out += `\\${ch}`;
    else if ((ch === ' ' || ch === '#') && i === 0) out += `\\${ch}`;
    else if (ch === ' ' && i === value.length - 1) out += '\\ ';
    else out += ch;
  }
  return out;
}

export function fillDn(template: string, username: string): string {
  return template.replace('{username}', escapeDnValue(username));
}

/**
 * The first RDN of a DN as type and unescaped value (`cn=Ops\, EU,ou=groups` -> cn, "Ops, EU").
 * Our own small parser because ldapts' DN class only builds DNs; multi-valued RDNs (`+`)
 * yield their first part. Returns undefined for anything that is not a DN.
 */
export function firstRdn(dn: string): { type: string; value: string } | undefined {
  const eq = dn.indexOf('=');
  if (eq <= 0) return undefined;
  const type = dn.slice(0, eq).trim();
  if (!/^[A-Za-z][A-Za-z0-9-]*$|^\d+(\.\d+)*$/.test(type)) return undefined;
  const bytes: number[] = [];
  // Unescaped spaces around the value are not part of it; escaped ones are (RFC 4514).
  let keep = 0;
  const enc = new TextEncoder();
  let i = eq + 1;
  while (dn[i] === ' ') i++;
  for (; i < dn.length; i++) {
    const ch = dn[i]!;
    if (ch === ',' || ch === '+') break;
    if (ch === '\\') {
      const hex = dn.slice(i + 1, i + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
      } else if (i + 1 < dn.length) {
        bytes.push(...enc.encode(dn[i + 1]!));
        i += 1;
      } else return undefined;
      keep = bytes.length;
      continue;
    }
    bytes.push(...enc.encode(ch));
    if (ch !== ' ') keep = bytes.length;
  }
  if (keep === 0) return undefined;
  try {
    return { type, value: new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes.slice(0, keep))) };
  } catch {
    return undefined;
  }
}

/** A comparison key for DNs: case and spaces around separators do not matter. */
export function dnKey(dn: string): string {
  return dn.replace(/\s*([,=+])\s*/g, '$1').toLowerCase();
}
