// What an SSH client asks the agent to sign when it logs in: the "publickey" userauth
// signed data of RFC 4252 §7 (or OpenSSH's publickey-hostbound-v00 variant, which adds
// the server's host key). Recognised only when it is exactly that structure for exactly
// the key asked to sign — the same test OpenSSH's ssh-agent applies before it enforces
// destination constraints (parse_userauth_request) — so nothing can be dressed up as a
// login it is not; everything else is described as opaque data.
import { baseType } from '../ssh/keys.js';
import { Reader, WireError } from '../ssh/wire.js';

const SSH_MSG_USERAUTH_REQUEST = 50;
/** OpenSSH's agent refuses longer session ids in session-bind; an exchange hash is ≤ 64. */
export const MAX_SESSION_ID = 128;

export interface UserauthRequest {
  sessionId: Buffer;
  user: string;
  service: string;
  method: 'publickey' | 'publickey-hostbound-v00@openssh.com';
  /** The signature algorithm the client names, e.g. rsa-sha2-512 or ssh-ed25519. */
  algorithm: string;
  /** Present for publickey-hostbound-v00: the host key the client believes it talks to. */
  hostKey: Buffer | null;
}

const RSA_ALGORITHMS = new Set(['ssh-rsa', 'rsa-sha2-256', 'rsa-sha2-512']);

/** Does the algorithm name belong to the key's type (RSA keys sign under three names)? */
export function algorithmFits(algorithm: string, keyType: string): boolean {
  if (baseType(keyType) === 'ssh-rsa') {
    const certificate = keyType !== 'ssh-rsa';
    const base = certificate ? baseType(algorithm) : algorithm;
    return RSA_ALGORITHMS.has(base) && (algorithm !== base) === certificate;
  }
  return algorithm === keyType;
}

function utf8(raw: Buffer, what: string): string {
  const text = raw.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(raw)) throw new WireError(`${what}: not UTF-8`);
  return text;
}

/**
 * The userauth request in `data` when `data` is one for `keyBlob` (type `keyType`),
 * else null. Never throws.
 */
export function parseUserauth(
  data: Buffer,
  keyBlob: Buffer,
  keyType: string,
): UserauthRequest | null {
  try {
    const r = new Reader(data);
    const sessionId = Buffer.from(r.string('session id'));
    if (sessionId.length === 0 || sessionId.length > MAX_SESSION_ID) return null;
    if (r.byte('message type') !== SSH_MSG_USERAUTH_REQUEST) return null;
    const user = utf8(r.string('user name'), 'user name');
    const service = r.name('service');
    const method = r.name('method');
    if (r.byte('has signature') !== 1) return null;
    const algorithm = r.name('algorithm');
    const key = r.string('public key');
    if (method !== 'publickey' && method !== 'publickey-hostbound-v00@openssh.com') return null;
    const hostKey = method === 'publickey' ? null : Buffer.from(r.string('host key'));
    r.end('userauth request');
    if (service !== 'ssh-connection' || !key.equals(keyBlob) || !algorithmFits(algorithm, keyType))
      return null;
    return { sessionId, user, service, method, algorithm, hostKey };
  } catch {
    return null;
  }
}
