// `netbox-gate hash-password`: reads a password (from the terminal without echo, asked twice, or
// from standard input when it is a pipe) and prints its argon2id PHC string for a local users file.
import { ARGON2_MISSING, argon2Available, hashPassword } from '../sources/local/password-hash.js';

export class PasswordInputError extends Error {}

const MAX_PASSWORD = 1024; // what the sign-in form accepts

/** Reads one line from a terminal with echo off; Ctrl-C / Ctrl-D abandon it. */
function readHidden(prompt: string, input: NodeJS.ReadStream, output: NodeJS.WriteStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = '';
    const wasRaw = input.isRaw;
    // Echo off before the prompt shows, so nothing typed (or pasted) early is echoed.
    input.setRawMode(true);
    output.write(prompt);
    input.resume();
    input.setEncoding('utf8');
    const done = (err?: Error) => {
      input.off('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new PasswordInputError('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    input.on('data', onData);
  });
}

/** The whole of a piped standard input; the password is its first line. */
async function readPiped(input: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of input) {
    const b = typeof c === 'string' ? Buffer.from(c) : (c as Buffer);
    size += b.length;
    if (size > 64 * 1024) throw new PasswordInputError('standard input is too large for a password');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

export async function readNewPassword(input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  let password: string;
  if (input.isTTY) {
    password = await readHidden('Password: ', input, output);
    const again = await readHidden('Repeat it: ', input, output);
    if (again !== password) throw new PasswordInputError('the two passwords differ');
  } else {
    password = await readPiped(input);
  }
  if (password === '') throw new PasswordInputError('the password is empty');
  if (password.length > MAX_PASSWORD) throw new PasswordInputError(`the password is longer than the ${MAX_PASSWORD} characters the sign-in form accepts`);
  return password;
}

/** Prints the PHC string of a password read from the terminal or a pipe. */
export async function hashPasswordCommand(write: (s: string) => void): Promise<number> {
  if (!argon2Available) throw new PasswordInputError(ARGON2_MISSING);
  const password = await readNewPassword();
  write(await hashPassword(password));
  return 0;
}
