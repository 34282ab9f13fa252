// TACACS+ packet codec (RFC 8907 §4, §5, §6): header, MD5 body obfuscation, and the bodies a
// client sends (START, CONTINUE, authorization REQUEST) and receives (the two REPLYs). Pure.
//
// Written here rather than taken from npm: no maintained TACACS+ client exists there (the few
// packages are abandoned, client-only for PAP, and throw untyped errors or hang on malformed
// replies). The wire format is small; owning it lets every reply be checked strictly.
import { createHash } from 'node:crypto';
import { GateError } from '../../errors.js';

export const HEADER_LEN = 12;
/** Our bound on a reply body; RFC 8907 allows 2^32 but no sane reply comes near 64 KiB. */
export const MAX_BODY_LEN = 64 * 1024;
export const MAJOR_VERSION = 0xc;
export const MINOR_DEFAULT = 0x0;
/** RFC 8907 §5.4.1: PAP (and CHAP, MS-CHAP) START uses minor version 1. */
export const MINOR_ONE = 0x1;

export const TYPE = { AUTHEN: 1, AUTHOR: 2, ACCT: 3 } as const;
export type PacketType = (typeof TYPE)[keyof typeof TYPE];
export const FLAG = { UNENCRYPTED: 0x01, SINGLE_CONNECT: 0x04 } as const;

export const AUTHEN_ACTION_LOGIN = 0x01;
export const AUTHEN_TYPE = { ASCII: 0x01, PAP: 0x02 } as const;
export const AUTHEN_SERVICE_LOGIN = 0x01;
export const AUTHEN_METHOD_TACACSPLUS = 0x06;
export const PRIV_LVL_USER = 0x01;
export const CONTINUE_FLAG_ABORT = 0x01;

export const AUTHEN_STATUS = {
  PASS: 0x01,
  FAIL: 0x02,
  GETDATA: 0x03,
  GETUSER: 0x04,
  GETPASS: 0x05,
  RESTART: 0x06,
  ERROR: 0x07,
  FOLLOW: 0x21,
} as const;
export const AUTHOR_STATUS = { PASS_ADD: 0x01, PASS_REPL: 0x02, FAIL: 0x10, ERROR: 0x11, FOLLOW: 0x21 } as const;

export interface Header {
  version: number;
  type: number;
  seq: number;
  flags: number;
  sessionId: number;
  length: number;
}

export interface AuthenReply {
  kind: 'authen';
  status: number;
  noEcho: boolean;
  serverMsg: string;
  data: Buffer;
}

export interface AuthorReply {
  kind: 'author';
  status: number;
  args: string[];
  serverMsg: string;
  data: Buffer;
}

export interface DecodedReply {
  header: Header;
  body: AuthenReply | AuthorReply;
}

/** What the reply to our packet must look like (RFC 8907 §4.1: same session, seq + 1). */
export interface ReplyExpectation {
  type: PacketType;
  sessionId: number;
  seq: number;
  allowUnencrypted: boolean;
}

export function protocolError(reason: string, detail: Record<string, unknown> = {}): GateError {
  return new GateError('ERR_SOURCE_PROTOCOL', `TACACS+ reply dropped: ${reason}`, { detail: { reason, ...detail } });
}

/**
 * RFC 8907 §4.5: body XOR a pad of chained MD5(session_id, key, version, seq_no[, prev]).
 * The same operation obfuscates and reveals.
 */
export function obfuscate(body: Buffer, header: Pick<Header, 'sessionId' | 'version' | 'seq'>, secret: Buffer): Buffer {
  const prefix = Buffer.alloc(4 + secret.length + 2);
  prefix.writeUInt32BE(header.sessionId >>> 0, 0);
  secret.copy(prefix, 4);
  prefix[4 + secret.length] = header.version;
  prefix[5 + secret.length] = header.seq;
  const out = Buffer.allocUnsafe(body.length);
  let prev: Buffer | undefined;
  for (let off = 0; off < body.length; off += 16) {
    const h = createHash('md5').update(prefix);
    if (prev) h.update(prev);
    prev = h.digest();
    const n = Math.min(16, body.length - off);
    for (let i = 0; i < n; i++) out[off + i] = body[off + i]! ^ prev[i]!;
  }
  return out;
}

/** Parses and checks the 12-byte header before the body is read, so a huge length is refused unread. */
export function decodeHeader(buf: Buffer, expect: ReplyExpectation): Header {
  if (buf.length < HEADER_LEN) throw protocolError('truncated header');
  const header: Header = {
    version: buf[0]!,
    type: buf[1]!,
    seq: buf[2]!,
    flags: buf[3]!,
    sessionId: buf.readUInt32BE(4),
    length: buf.readUInt32BE(8),
  };
  if (header.version >> 4 !== MAJOR_VERSION) throw protocolError(`unsupported major version 0x${(header.version >> 4).toString(16)}`);
  const minor = header.version & 0x0f;
  if (minor !== MINOR_DEFAULT && minor !== MINOR_ONE) throw protocolError(`unsupported minor version ${minor}`);
  if (header.type !== expect.type) throw protocolError(`packet type ${header.type} where ${expect.type} was expected`);
  if (header.sessionId !== expect.sessionId) throw protocolError('session id does not match the request');
  // Server packets carry even sequence numbers, each exactly one above the client's packet.
  if (header.seq !== expect.seq + 1 || header.seq % 2 !== 0) {
    throw protocolError(`sequence number ${header.seq} out of order (expected ${expect.seq + 1})`);
  }
  if ((header.flags & FLAG.UNENCRYPTED) !== 0 && !expect.allowUnencrypted) {
    throw protocolError('reply is not obfuscated (TAC_PLUS_UNENCRYPTED_FLAG); set insecureAllowUnencrypted only for a lab server');
  }
  if (header.length > MAX_BODY_LEN) throw protocolError(`body length ${header.length} exceeds ${MAX_BODY_LEN}`);
  return header;
}

const BAD_SECRET_HINT = 'reply fails to decode (wrong shared secret?)';

/** Decodes one whole reply packet (header + body) and checks it against the request it answers. */
export function decodeReply(packet: Buffer, expect: ReplyExpectation, secret: Buffer): DecodedReply {
  const header = decodeHeader(packet, expect);
  if (packet.length !== HEADER_LEN + header.length) {
    throw protocolError(`packet is ${packet.length - HEADER_LEN} body bytes, header says ${header.length}`);
  }
  const raw = packet.subarray(HEADER_LEN);
  const body = (header.flags & FLAG.UNENCRYPTED) !== 0 ? Buffer.from(raw) : obfuscate(raw, header, secret);
  return { header, body: header.type === TYPE.AUTHEN ? decodeAuthenReply(body) : decodeAuthorReply(body) };
}

/** Server text is untrusted: keep it printable and short before it reaches logs or users. */
function cleanText(buf: Buffer): string {
  return buf.toString('utf8').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffd]/g, ' ').trim().slice(0, 200);
}

function decodeAuthenReply(body: Buffer): AuthenReply {
  if (body.length < 6) throw protocolError(`${BAD_SECRET_HINT}: authentication reply shorter than 6 bytes`);
  const status = body[0]!;
  const msgLen = body.readUInt16BE(2);
  const dataLen = body.readUInt16BE(4);
  if (6 + msgLen + dataLen !== body.length) throw protocolError(`${BAD_SECRET_HINT}: field lengths do not add up`);
  if (!(Object.values(AUTHEN_STATUS) as number[]).includes(status)) {
    throw protocolError(`${BAD_SECRET_HINT}: unknown authentication status 0x${status.toString(16)}`);
  }
  if ((body[1]! & ~0x01) !== 0) throw protocolError(`${BAD_SECRET_HINT}: unknown reply flags`);
  return {
    kind: 'authen',
    status,
    noEcho: (body[1]! & 0x01) !== 0,
    serverMsg: cleanText(body.subarray(6, 6 + msgLen)),
    data: Buffer.from(body.subarray(6 + msgLen)),
  };
}

function decodeAuthorReply(body: Buffer): AuthorReply {
  if (body.length < 6) throw protocolError(`${BAD_SECRET_HINT}: authorization reply shorter than 6 bytes`);
  const status = body[0]!;
  const argCount = body[1]!;
  const msgLen = body.readUInt16BE(2);
  const dataLen = body.readUInt16BE(4);
  const fixed = 6 + argCount;
  if (body.length < fixed) throw protocolError(`${BAD_SECRET_HINT}: argument lengths truncated`);
  let argTotal = 0;
  for (let i = 0; i < argCount; i++) argTotal += body[6 + i]!;
  if (fixed + msgLen + dataLen + argTotal !== body.length) throw protocolError(`${BAD_SECRET_HINT}: field lengths do not add up`);
  if (!(Object.values(AUTHOR_STATUS) as number[]).includes(status)) {
    throw protocolError(`${BAD_SECRET_HINT}: unknown authorization status 0x${status.toString(16)}`);
  }
  let off = fixed;
  const serverMsg = cleanText(body.subarray(off, off + msgLen));
  off += msgLen;
  const data = Buffer.from(body.subarray(off, off + dataLen));
  off += dataLen;
  const args: string[] = [];
  for (let i = 0; i < argCount; i++) {
    const len = body[6 + i]!;
    const arg = body.subarray(off, off + len);
    off += len;
    // A pair must be text; control bytes here almost always mean a wrong secret.
    if (arg.includes(0)) throw protocolError(`${BAD_SECRET_HINT}: NUL byte in an AV pair`);
    args.push(arg.toString('utf8'));
  }
  return { kind: 'author', status, args, serverMsg, data };
}

/** Wraps a body in a header and obfuscates it (never sends TAC_PLUS_UNENCRYPTED_FLAG). */
export function encodePacket(h: Omit<Header, 'length'>, body: Buffer, secret: Buffer): Buffer {
  if (body.length > MAX_BODY_LEN) throw new GateError('ERR_BAD_REQUEST', 'TACACS+ request too large');
  const out = Buffer.alloc(HEADER_LEN + body.length);
  out[0] = h.version;
  out[1] = h.type;
  out[2] = h.seq;
  out[3] = h.flags & ~FLAG.UNENCRYPTED;
  out.writeUInt32BE(h.sessionId >>> 0, 4);
  out.writeUInt32BE(body.length, 8);
  obfuscate(body, h, secret).copy(out, HEADER_LEN);
  return out;
}

/** A field with a one-byte length; user input that does not fit is the client's error, not ours. */
function short(name: string, value: string | Buffer): Buffer {
  const b = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  if (b.length > 255) throw new GateError('ERR_BAD_REQUEST', `TACACS+ ${name} is longer than 255 bytes`, { detail: { field: name } });
  return b;
}

export interface StartFields {
  authenType: number;
  user: string;
  port: string;
  remAddr: string;
  /** PAP: the password; ASCII: empty. */
  data: Buffer;
}

/** RFC 8907 §5.1 START (login action, user privilege level, login service). */
export function encodeAuthenStart(f: StartFields): Buffer {
  const user = short('user name', f.user);
  const port = short('port', f.port);
  const rem = short('remote address', f.remAddr);
  const data = short('password', f.data);
  const head = Buffer.from([AUTHEN_ACTION_LOGIN, PRIV_LVL_USER, f.authenType, AUTHEN_SERVICE_LOGIN, user.length, port.length, rem.length, data.length]);
  return Buffer.concat([head, user, port, rem, data]);
}

/** RFC 8907 §5.3 CONTINUE; user_msg carries the answer to GETUSER/GETPASS. */
export function encodeAuthenContinue(userMsg: Buffer, abort = false): Buffer {
  if (userMsg.length > 0xffff) throw new GateError('ERR_BAD_REQUEST', 'TACACS+ answer is longer than 65535 bytes');
  const head = Buffer.alloc(5);
  head.writeUInt16BE(userMsg.length, 0);
  head.writeUInt16BE(0, 2);
  head[4] = abort ? CONTINUE_FLAG_ABORT : 0;
  return Buffer.concat([head, userMsg]);
}

export interface AuthorFields {
  authenType: number;
  user: string;
  port: string;
  remAddr: string;
  args: string[];
}

/** RFC 8907 §6.1 REQUEST, stating that the user was authenticated by TACACS+. */
export function encodeAuthorRequest(f: AuthorFields): Buffer {
  if (f.args.length > 255) throw new GateError('ERR_BAD_REQUEST', 'too many TACACS+ authorization arguments');
  const user = short('user name', f.user);
  const port = short('port', f.port);
  const rem = short('remote address', f.remAddr);
  const args = f.args.map((a) => short('AV pair', a));
  const head = Buffer.from([AUTHEN_METHOD_TACACSPLUS, PRIV_LVL_USER, f.authenType, AUTHEN_SERVICE_LOGIN, user.length, port.length, rem.length, args.length]);
  return Buffer.concat([head, Buffer.from(args.map((a) => a.length)), user, port, rem, ...args]);
}
