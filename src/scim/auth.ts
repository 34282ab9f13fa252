// Bearer authentication of the provisioning client: the presented secret is compared with every
// configured token (several, for rotation) in constant time over SHA-256 digests, so neither the
// length nor the first differing byte of a token shows in the timing, nor which token matched.
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function bearerVerifier(tokens: readonly string[]): (authorization: string | undefined) => boolean {
  const wanted = tokens.map(digest);
  return (authorization) => {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
    // Still hash something when the header is missing or malformed: the same work either way.
    const got = digest(m ? m[1]! : '');
    let ok = false;
    for (const w of wanted) ok = timingSafeEqual(w, got) || ok;
    return ok && m !== null;
  };
}
