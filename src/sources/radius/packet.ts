// RADIUS packet codec (RFC 2865 §3/§5, RFC 2866 §3, RFC 3579 §3.2): framing, User-Password
// hiding, Request/Response Authenticators and Message-Authenticator. Pure functions on Buffers.
//
// Written here rather than taken from npm: the packages available (`radius`, `node-radius-client`)
// do not require or verify Message-Authenticator in replies (BlastRADIUS, CVE-2024-3596), are
// unmaintained, and throw untyped errors on malformed input. The protocol is small enough to own.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { GateError } from '../../errors.js';

export const CODE = {
  ACCESS_REQUEST: 1,
  ACCESS_ACCEPT: 2,
  ACCESS_REJECT: 3,
  ACCOUNTING_REQUEST: 4,
  ACCOUNTING_RESPONSE: 5,
  ACCESS_CHALLENGE: 11,
  /** RFC 5997: asks a server whether it is alive; answered with Access-Accept on the auth port. */
  STATUS_SERVER: 12,
} as const;

export const ATTR = {
  USER_NAME: 1,
  USER_PASSWORD: 2,
  NAS_IP_ADDRESS: 4,
  SERVICE_TYPE: 6,
  VENDOR_SPECIFIC: 26,
  CALLING_STATION_ID: 31,
  NAS_IDENTIFIER: 32,
  ACCT_STATUS_TYPE: 40,
  ACCT_SESSION_ID: 44,
  ACCT_AUTHENTIC: 45,
  ACCT_SESSION_TIME: 46,
  ACCT_TERMINATE_CAUSE: 49,
  EVENT_TIMESTAMP: 55,
  NAS_PORT_TYPE: 61,
  MESSAGE_AUTHENTICATOR: 80,
} as const;

const HEADER_LEN = 20;
/** RFC 2865 §3: packets are at most 4096 octets. */
export const MAX_PACKET_LEN = 4096;
const AUTH_LEN = 16;
const MA_LEN = 16;
/** RFC 2865 §5.2: the hidden password is at most 128 octets. */
export const MAX_PASSWORD_LEN = 128;

export interface RawAttribute {
  type: number;
  value: Buffer;
}

export interface RawPacket {
  code: number;
  id: number;
  authenticator: Buffer;
  attributes: RawAttribute[];
  /** The packet bytes up to the Length field (trailing padding removed). */
  bytes: Buffer;
}

function protocolError(reason: string): GateError {
  return new GateError('ERR_SOURCE_PROTOCOL', `RADIUS packet dropped: ${reason}`, { detail: { reason } });
}

/**
 * Parses the framing of one datagram. Throws GateError ERR_SOURCE_PROTOCOL with a reason for
 * anything that is not a well-formed packet; never any other error.
 */
export function decodePacket(datagram: Buffer): RawPacket {
  if (datagram.length < HEADER_LEN) throw protocolError(`datagram of ${datagram.length} octets is shorter than the 20-octet header`);
  const length = datagram.readUInt16BE(2);
  if (length < HEADER_LEN || length > MAX_PACKET_LEN) throw protocolError(`Length field ${length} is outside 20..4096`);
  // RFC 2865 §3: shorter than Length is discarded; octets beyond Length are padding and ignored.
  if (datagram.length < length) throw protocolError(`Length field ${length} exceeds the ${datagram.length} octets received`);
  const bytes = Buffer.from(datagram.subarray(0, length));
  const attributes: RawAttribute[] = [];
  let off = HEADER_LEN;
  while (off < length) {
    if (length - off < 2) throw protocolError(`truncated attribute header at offset ${off}`);
    const type = bytes[off]!;
    const len = bytes[off + 1]!;
    if (len < 2) throw protocolError(`attribute ${type} at offset ${off} has length ${len} (< 2)`);
    if (off + len > length) throw protocolError(`attribute ${type} at offset ${off} runs past the end of the packet`);
    attributes.push({ type, value: bytes.subarray(off + 2, off + len) });
    off += len;
  }
  return { code: bytes[0]!, id: bytes[1]!, authenticator: bytes.subarray(4, 20), attributes, bytes };
}

/** Serialises a packet. Attribute values over 253 octets are a programmer error. */
export function encodePacket(code: number, id: number, authenticator: Buffer, attributes: RawAttribute[]): Buffer {
  if (authenticator.length !== AUTH_LEN) throw new TypeError('ERR_INVALID_ARG_VALUE: authenticator must be 16 octets');
  const parts: Buffer[] = [];
  let length = HEADER_LEN;
  for (const a of attributes) {
    if (a.value.length > 253) throw new TypeError(`ERR_INVALID_ARG_VALUE: attribute ${a.type} value is longer than 253 octets`);
    parts.push(Buffer.from([a.type, a.value.length + 2]), a.value);
    length += a.value.length + 2;
  }
  if (length > MAX_PACKET_LEN) throw new TypeError('ERR_INVALID_ARG_VALUE: packet longer than 4096 octets');
  const header = Buffer.alloc(4);
  header.writeUInt8(code, 0);
  header.writeUInt8(id, 1);
  header.writeUInt16BE(length, 2);
  return Buffer.concat([header, authenticator, ...parts], length);
}

function md5(...parts: Buffer[]): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** RFC 2865 §5.2: pad to 16-octet blocks, XOR with the chain MD5(S + RA), MD5(S + c1), ... */
export function hidePassword(password: Buffer, secret: Buffer, requestAuthenticator: Buffer): Buffer {
  if (password.length > MAX_PASSWORD_LEN) throw new TypeError('ERR_INVALID_ARG_VALUE: password longer than 128 octets');
  const padded = Buffer.alloc(Math.max(16, Math.ceil(password.length / 16) * 16));
  password.copy(padded);
  const out = Buffer.alloc(padded.length);
  let prev = requestAuthenticator;
  for (let i = 0; i < padded.length; i += 16) {
    const b = md5(secret, prev);
    for (let j = 0; j < 16; j++) out[i + j] = padded[i + j]! ^ b[j]!;
    prev = out.subarray(i, i + 16);
  }
  return out;
}

/** The inverse of hidePassword (used by test servers); trailing NULs are padding. */
export function revealPassword(hidden: Buffer, secret: Buffer, requestAuthenticator: Buffer): Buffer {
  if (hidden.length === 0 || hidden.length % 16 !== 0 || hidden.length > MAX_PASSWORD_LEN) {
    throw protocolError('User-Password is not a multiple of 16 octets up to 128');
  }
  const out = Buffer.alloc(hidden.length);
  let prev = requestAuthenticator;
  for (let i = 0; i < hidden.length; i += 16) {
    const b = md5(secret, prev);
    for (let j = 0; j < 16; j++) out[i + j] = hidden[i + j]! ^ b[j]!;
    prev = hidden.subarray(i, i + 16);
  }
  let end = out.length;
  while (end > 0 && out[end - 1] === 0) end--;
  return out.subarray(0, end);
}

/** Offset of the Message-Authenticator value in `bytes`, or -1; -2 when it occurs more than once. */
function findMessageAuthenticator(p: RawPacket): number {
  let found = -1;
  for (const a of p.attributes) {
    if (a.type !== ATTR.MESSAGE_AUTHENTICATOR) continue;
    if (found !== -1) return -2;
    found = a.value.byteOffset - p.bytes.byteOffset;
  }
  return found;
}

/**
 * RFC 3579 §3.2: HMAC-MD5 over the packet with the Message-Authenticator value zeroed and the
 * given authenticator in the header (the Request Authenticator for replies; zeros for
 * Accounting-Request, as RFC 5080 §2.2.2 and FreeRADIUS do).
 */
function computeMessageAuthenticator(bytes: Buffer, maOffset: number, headerAuthenticator: Buffer, secret: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  headerAuthenticator.copy(copy, 4);
  copy.fill(0, maOffset, maOffset + MA_LEN);
  return createHmac('md5', secret).update(copy).digest();
}

export interface RequestParts {
  code: typeof CODE.ACCESS_REQUEST | typeof CODE.ACCOUNTING_REQUEST | typeof CODE.STATUS_SERVER;
  id: number;
  /** Access-Request and Status-Server: 16 random octets from crypto.randomBytes. */
  requestAuthenticator?: Buffer;
  attributes: RawAttribute[];
}

/**
 * Builds a signed request with Message-Authenticator as the first attribute (the BlastRADIUS
 * recommendation, so no chosen prefix can precede it). Returns the bytes and the Request
 * Authenticator the reply must be checked against.
 */
export function buildRequest(parts: RequestParts, secret: Buffer): { bytes: Buffer; authenticator: Buffer } {
  const attrs: RawAttribute[] = [{ type: ATTR.MESSAGE_AUTHENTICATOR, value: Buffer.alloc(MA_LEN) }, ...parts.attributes];
  const maOffset = HEADER_LEN + 2;
  // RFC 5997 §3: Status-Server is signed like an Access-Request (random authenticator, and a
  // Message-Authenticator it MUST carry).
  if (parts.code === CODE.ACCESS_REQUEST || parts.code === CODE.STATUS_SERVER) {
    const ra = parts.requestAuthenticator;
    if (!ra || ra.length !== AUTH_LEN) throw new TypeError('ERR_INVALID_ARG_VALUE: Access-Request and Status-Server need a 16-octet random authenticator');
    const bytes = encodePacket(parts.code, parts.id, ra, attrs);
    computeMessageAuthenticator(bytes, maOffset, ra, secret).copy(bytes, maOffset);
    return { bytes, authenticator: Buffer.from(ra) };
  }
  // RFC 2866 §3: the Request Authenticator is MD5(packet with zero authenticator + secret),
  // taken after the Message-Authenticator is filled in.
  const zero = Buffer.alloc(AUTH_LEN);
  const bytes = encodePacket(parts.code, parts.id, zero, attrs);
  computeMessageAuthenticator(bytes, maOffset, zero, secret).copy(bytes, maOffset);
  const ra = md5(bytes, secret);
  ra.copy(bytes, 4);
  return { bytes, authenticator: ra };
}

const REPLY_CODES: Record<number, readonly number[]> = {
  [CODE.ACCESS_REQUEST]: [CODE.ACCESS_ACCEPT, CODE.ACCESS_REJECT, CODE.ACCESS_CHALLENGE],
  [CODE.ACCOUNTING_REQUEST]: [CODE.ACCOUNTING_RESPONSE],
  // RFC 5997 §3: Access-Accept from an authentication port (the only kind we ask).
  [CODE.STATUS_SERVER]: [CODE.ACCESS_ACCEPT],
};

/**
 * Checks a decoded reply against the request it answers: code, Response Authenticator
 * (RFC 2865 §3) and Message-Authenticator (RFC 3579 §3.2). Message-Authenticator is required in
 * every Access-* reply: without it an on-path attacker can forge an Accept by an MD5
 * chosen-prefix collision (BlastRADIUS). Throws ERR_SOURCE_PROTOCOL with the reason.
 */
export function verifyReply(reply: RawPacket, requestCode: number, requestAuthenticator: Buffer, secret: Buffer): void {
  const allowed = REPLY_CODES[requestCode] ?? [];
  if (!allowed.includes(reply.code)) throw protocolError(`unexpected code ${reply.code} in reply to code ${requestCode}`);
  const copy = Buffer.from(reply.bytes);
  requestAuthenticator.copy(copy, 4);
  const expected = md5(copy, secret);
  if (!timingSafeEqual(expected, reply.authenticator)) {
    throw protocolError('Response Authenticator does not verify (wrong shared secret or forged reply)');
  }
  const maOffset = findMessageAuthenticator(reply);
  if (maOffset === -2) throw protocolError('more than one Message-Authenticator');
  if (maOffset === -1) {
    if (reply.code === CODE.ACCOUNTING_RESPONSE) return;
    // An answer to Status-Server grants nothing, so a forged one (BlastRADIUS) gains nothing;
    // FreeRADIUS 3.2 sends it without Message-Authenticator. The Response Authenticator above
    // still proves the shared secret, which is what the probe wants to know.
    if (requestCode === CODE.STATUS_SERVER) return;
    throw protocolError('reply has no Message-Authenticator (required against BlastRADIUS, CVE-2024-3596)');
  }
  if (reply.bytes[maOffset - 1] !== MA_LEN + 2) throw protocolError('Message-Authenticator is not 16 octets');
  const mac = computeMessageAuthenticator(reply.bytes, maOffset, requestAuthenticator, secret);
  if (!timingSafeEqual(mac, reply.bytes.subarray(maOffset, maOffset + MA_LEN))) {
    throw protocolError('Message-Authenticator does not verify');
  }
}

/**
 * Server side of the same checks, for test servers and fuzzing: verifies an Access-Request's
 * Message-Authenticator or an Accounting-Request's authenticators.
 */
export function verifyRequest(req: RawPacket, secret: Buffer): void {
  const maOffset = findMessageAuthenticator(req);
  if (maOffset < 0) throw protocolError('request has no single Message-Authenticator');
  if (req.bytes[maOffset - 1] !== MA_LEN + 2) throw protocolError('Message-Authenticator is not 16 octets');
  if (req.code === CODE.ACCOUNTING_REQUEST) {
    const copy = Buffer.from(req.bytes);
    copy.fill(0, 4, 20);
    if (!timingSafeEqual(md5(copy, secret), req.authenticator)) throw protocolError('Accounting-Request authenticator does not verify');
  }
  const header = req.code === CODE.ACCOUNTING_REQUEST ? Buffer.alloc(AUTH_LEN) : req.authenticator;
  const mac = computeMessageAuthenticator(req.bytes, maOffset, header, secret);
  if (!timingSafeEqual(mac, req.bytes.subarray(maOffset, maOffset + MA_LEN))) throw protocolError('Message-Authenticator does not verify');
}

/** Builds a signed reply (test servers): Message-Authenticator first, then the Response Authenticator. */
export function buildReply(
  code: number,
  request: RawPacket,
  attributes: RawAttribute[],
  secret: Buffer,
  opts: { messageAuthenticator?: boolean } = {},
): Buffer {
  const withMa = opts.messageAuthenticator ?? true;
  const attrs = withMa ? [{ type: ATTR.MESSAGE_AUTHENTICATOR, value: Buffer.alloc(MA_LEN) }, ...attributes] : attributes;
  const bytes = encodePacket(code, request.id, request.authenticator, attrs);
  if (withMa) computeMessageAuthenticator(bytes, HEADER_LEN + 2, request.authenticator, secret).copy(bytes, HEADER_LEN + 2);
  md5(bytes, secret).copy(bytes, 4);
  return bytes;
}
