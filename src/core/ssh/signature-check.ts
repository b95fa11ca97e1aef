// Every signature the agent returns is checked against the public key before it leaves
// the proxy: right algorithm (no RSA SHA-1 downgrade), well-formed, and valid.
import { createHash, createPublicKey, verify, constants, type KeyObject } from 'node:crypto';
import { verifyEd25519 } from './ed25519.js';
import type { EcCurve, PublicKey, SigningKey } from './keys.js';
import { Reader, WireError } from './wire.js';

export class SignatureCheckError extends Error {
  override name = 'SignatureCheckError';
}

/** SSH_AGENT_RSA_SHA2_512: the agent flag that asks for rsa-sha2-512. */
export const RSA_SHA2_512_FLAG = 4;

const CURVE: Record<EcCurve, { jwk: string; hash: string; size: number }> = {
  nistp256: { jwk: 'P-256', hash: 'sha256', size: 32 },
  nistp384: { jwk: 'P-384', hash: 'sha384', size: 48 },
  nistp521: { jwk: 'P-521', hash: 'sha512', size: 66 },
};

/** The only signature algorithm accepted for a key (RSA is always asked for SHA-512). */
export function expectedAlgorithm(s: SigningKey): string {
  switch (s.kind) {
    case 'ed25519':
      return 'ssh-ed25519';
    case 'rsa':
      return 'rsa-sha2-512';
    case 'ecdsa':
      return `ecdsa-sha2-${s.curve}`;
    case 'sk-ed25519':
      return 'sk-ssh-ed25519@openssh.com';
    case 'sk-ecdsa':
      return 'sk-ecdsa-sha2-nistp256@openssh.com';
  }
}

export function signFlags(key: PublicKey): number {
  return key.signing?.kind === 'rsa' ? RSA_SHA2_512_FLAG : 0;
}

// Public keys parsed into KeyObjects, by wire blob: public, so safe to keep, and it saves
// an import per signature. Bounded; cleared when full.
const keyCache = new Map<string, KeyObject>();
function cachedKey(id: Buffer, make: () => KeyObject): KeyObject {
  const k = id.toString('base64');
  let key = keyCache.get(k);
  if (!key) {
    if (keyCache.size >= 256) keyCache.clear();
    key = make();
    keyCache.set(k, key);
  }
  return key;
}

function ecKey(curve: EcCurve, q: Buffer): KeyObject {
  const { jwk, size } = CURVE[curve];
  if (q.length !== 1 + 2 * size || q[0] !== 0x04) {
    throw new SignatureCheckError('ecdsa public point is not an uncompressed point');
  }
  return cachedKey(q, () => {
    const x = q.subarray(1, 1 + size).toString('base64url');
    const y = q.subarray(1 + size).toString('base64url');
    return createPublicKey({ key: { kty: 'EC', crv: jwk, x, y }, format: 'jwk' });
  });
}

/** SSH's ECDSA signature (mpint r, mpint s) to IEEE P1363 (r‖s, fixed width). */
function ecdsaP1363(inner: Buffer, size: number): Buffer {
  const r = new Reader(inner);
  const parts = [r.mpint('ecdsa r'), r.mpint('ecdsa s')];
  r.end('ecdsa signature');
  const out = Buffer.alloc(2 * size);
  parts.forEach((v, i) => {
    if (v.length === 0 || v.length > size) throw new SignatureCheckError('ecdsa r/s out of range');
    v.copy(out, i * size + size - v.length);
  });
  return out;
}

function verifyRsa(s: { e: Buffer; n: Buffer }, data: Buffer, sig: Buffer): boolean {
  // OpenSSH accepts signatures shorter than the modulus and left-pads them; OpenSSL does not.
  if (sig.length > s.n.length) return false;
  const padded = Buffer.alloc(s.n.length);
  sig.copy(padded, s.n.length - sig.length);
  const key = cachedKey(Buffer.concat([s.e, s.n]), () =>
    createPublicKey({
      key: { kty: 'RSA', n: s.n.toString('base64url'), e: s.e.toString('base64url') },
      format: 'jwk',
    }),
  );
  return verify('sha512', data, { key, padding: constants.RSA_PKCS1_PADDING }, padded);
}

/** PROTOCOL.u2f: the authenticator signs H(application) ‖ flags ‖ counter ‖ H(message). */
function skSignedData(application: Buffer, flags: number, counter: number, data: Buffer): Buffer {
  const fc = Buffer.alloc(5);
  fc.writeUInt8(flags, 0);
  fc.writeUInt32BE(counter, 1);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest();
  return Buffer.concat([sha(application), fc, sha(data)]);
}

/** SK flag bits (PROTOCOL.u2f / CTAP): user present, and extension data follows. */
const SK_USER_PRESENT = 0x01;
const SK_EXTENSION_DATA = 0x80;

/**
 * Check `sigBlob` (the agent's SIGN_RESPONSE signature) over `data` for `key`.
 * Throws SignatureCheckError saying what was wrong; returns normally only when valid.
 */
export function checkSignature(key: PublicKey, data: Buffer, sigBlob: Buffer): void {
  const s = key.signing;
  if (!s) throw new SignatureCheckError(`cannot check signatures for key type ${key.type}`);
  const want = expectedAlgorithm(s);
  let valid: boolean;
  try {
    const r = new Reader(sigBlob);
    const alg = r.name('signature algorithm');
    if (alg !== want) {
      throw new SignatureCheckError(`agent answered with ${alg}, expected ${want}`);
    }
    const sig = r.string('signature');
    switch (s.kind) {
      case 'ed25519':
        r.end('signature');
        valid = verifyEd25519(s.pk, data, sig);
        break;
      case 'rsa':
        r.end('signature');
        valid = verifyRsa(s, data, sig);
        break;
      case 'ecdsa': {
        r.end('signature');
        const { hash, size } = CURVE[s.curve];
        valid = verify(
          hash,
          data,
          { key: ecKey(s.curve, s.q), dsaEncoding: 'ieee-p1363' },
          ecdsaP1363(sig, size),
        );
        break;
      }
      case 'sk-ed25519':
      case 'sk-ecdsa': {
        const flags = r.byte('sk flags');
        const counter = r.uint32('sk counter');
        r.end('signature');
        if (flags & SK_EXTENSION_DATA) {
          throw new SignatureCheckError('security-key signature carries extension data');
        }
        if (!(flags & SK_USER_PRESENT)) {
          throw new SignatureCheckError('security-key signature without user presence');
        }
        const signed = skSignedData(s.application, flags, counter, data);
        valid =
          s.kind === 'sk-ed25519'
            ? verifyEd25519(s.pk, signed, sig)
            : verify(
                'sha256',
                signed,
                { key: ecKey('nistp256', s.q), dsaEncoding: 'ieee-p1363' },
                ecdsaP1363(sig, 32),
              );
        break;
      }
    }
  } catch (err) {
    if (err instanceof SignatureCheckError) throw err;
    if (err instanceof WireError)
      throw new SignatureCheckError(`malformed signature: ${err.message}`);
    throw new SignatureCheckError(`signature could not be checked: ${(err as Error).message}`);
  }
  if (!valid) throw new SignatureCheckError('signature does not verify against the public key');
}
