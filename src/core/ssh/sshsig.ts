// SSHSIG (OpenSSH PROTOCOL.sshsig): the data handed to the agent, the signature
// envelope around its answer, and the 70-column armor `ssh-keygen -Y sign` writes.
import { createHash } from 'node:crypto';
import { string, uint32 } from './wire.js';

const MAGIC = Buffer.from('SSHSIG', 'ascii');
const VERSION = 1;
export type HashAlgorithm = 'sha512' | 'sha256';
export const DEFAULT_HASH: HashAlgorithm = 'sha512';

/** The blob the key signs: MAGIC ‖ namespace ‖ reserved ‖ hash_algorithm ‖ H(message). */
export function signedData(namespace: string, message: Buffer, hash = DEFAULT_HASH): Buffer {
  const digest = createHash(hash).update(message).digest();
  return Buffer.concat([MAGIC, string(namespace), string(''), string(hash), string(digest)]);
}

/** The SSHSIG envelope around the agent's signature blob. */
export function envelope(
  publicKeyBlob: Buffer,
  namespace: string,
  signatureBlob: Buffer,
  hash = DEFAULT_HASH,
): Buffer {
  return Buffer.concat([
    MAGIC,
    uint32(VERSION),
    string(publicKeyBlob),
    string(namespace),
    string(''),
    string(hash),
    string(signatureBlob),
  ]);
}

export function armor(sshsig: Buffer): string {
  const b64 = sshsig.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 70) lines.push(b64.slice(i, i + 70));
  return `-----BEGIN SSH SIGNATURE-----\n${lines.join('\n')}\n-----END SSH SIGNATURE-----\n`;
}

/** Namespaces go into signed data and URLs: keep them short and unambiguous. */
export function isValidNamespace(ns: string): boolean {
  return /^[A-Za-z0-9@._+-]{1,64}$/.test(ns);
}
