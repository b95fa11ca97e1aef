// Checking an SSH signature whose algorithm the protocol lets the signer choose among a
// few: a server's host-key signature in session-bind (RSA host keys sign with SHA-256 or
// SHA-512), or a login signature the client asked for with a flag. SHA-1 RSA (`ssh-rsa`)
// is never accepted. Everything but RSA/SHA-256 is checked by signature-check.ts.
import { constants, createPublicKey, verify } from 'node:crypto';
import type { PublicKey } from '../ssh/keys.js';
import { checkSignature, expectedAlgorithm, SignatureCheckError } from '../ssh/signature-check.js';
import { Reader } from '../ssh/wire.js';
import { SSH_AGENT_RSA_SHA2_256, SSH_AGENT_RSA_SHA2_512 } from './messages.js';

/** The algorithm a sign request's flags ask of `key`; null for RSA without exactly one SHA-2 flag. */
export function requestedAlgorithm(key: PublicKey, flags: number): string | null {
  const s = key.signing;
  if (!s) return null;
  if (s.kind !== 'rsa') return expectedAlgorithm(s);
  // Both flags: agents differ in which they pick, so the answer could not be checked
  // against one algorithm. No client sends both; refused before anyone is asked.
  if (flags & SSH_AGENT_RSA_SHA2_512 && flags & SSH_AGENT_RSA_SHA2_256) return null;
  if (flags & SSH_AGENT_RSA_SHA2_512) return 'rsa-sha2-512';
  if (flags & SSH_AGENT_RSA_SHA2_256) return 'rsa-sha2-256';
  return null;
}

/** The algorithms a host key may sign a session id with. */
export function hostKeyAlgorithms(key: PublicKey): string[] {
  const s = key.signing;
  if (!s) return [];
  return s.kind === 'rsa' ? ['rsa-sha2-256', 'rsa-sha2-512'] : [expectedAlgorithm(s)];
}

function signatureAlgorithm(sigBlob: Buffer): string {
  try {
    return new Reader(sigBlob).name('signature algorithm');
  } catch {
    throw new SignatureCheckError('malformed signature: no algorithm name');
  }
}

function verifyRsaSha256(key: PublicKey, data: Buffer, sigBlob: Buffer): void {
  const s = key.signing;
  if (s?.kind !== 'rsa') throw new SignatureCheckError('not an RSA key');
  let sig: Buffer;
  try {
    const r = new Reader(sigBlob);
    r.name('signature algorithm');
    sig = r.string('signature');
    r.end('signature');
  } catch (err) {
    throw new SignatureCheckError(`malformed signature: ${(err as Error).message}`);
  }
  // As OpenSSH does: a signature shorter than the modulus is left-padded.
  if (sig.length > s.n.length) throw new SignatureCheckError('RSA signature longer than the key');
  const padded = Buffer.alloc(s.n.length);
  sig.copy(padded, s.n.length - sig.length);
  const pub = createPublicKey({
    key: { kty: 'RSA', n: s.n.toString('base64url'), e: s.e.toString('base64url') },
    format: 'jwk',
  });
  if (!verify('sha256', data, { key: pub, padding: constants.RSA_PKCS1_PADDING }, padded))
    throw new SignatureCheckError('signature does not verify against the public key');
}

/**
 * Check `sigBlob` over `data` for `key`, made with one of `accepted` algorithms. Throws
 * SignatureCheckError saying what was wrong.
 */
export function checkSshSignature(
  key: PublicKey,
  data: Buffer,
  sigBlob: Buffer,
  accepted: readonly string[],
): void {
  const alg = signatureAlgorithm(sigBlob);
  if (!accepted.includes(alg))
    throw new SignatureCheckError(`signed with ${alg}, expected ${accepted.join(' or ')}`);
  if (alg === 'rsa-sha2-256') verifyRsaSha256(key, data, sigBlob);
  else checkSignature(key, data, sigBlob);
}
