// Public keys as the agent lists them and as people write them: wire blobs,
// authorized_keys lines, SHA256 fingerprints exactly as `ssh-keygen -lf` prints them.
import { createHash } from 'node:crypto';
import { Reader, string, WireError } from './wire.js';

export type EcCurve = 'nistp256' | 'nistp384' | 'nistp521';

/** The key that actually verifies signatures (for a certificate, the key inside it). */
export type SigningKey =
  | { kind: 'ed25519'; pk: Buffer }
  | { kind: 'rsa'; e: Buffer; n: Buffer }
  | { kind: 'ecdsa'; curve: EcCurve; q: Buffer }
  | { kind: 'sk-ed25519'; pk: Buffer; application: Buffer }
  | { kind: 'sk-ecdsa'; curve: 'nistp256'; q: Buffer; application: Buffer };

export interface PublicKey {
  /** The key type name from the blob, e.g. `ssh-ed25519-cert-v01@openssh.com`. */
  type: string;
  blob: Buffer;
  certificate: boolean;
  /** null when the type is one this proxy cannot check signatures for (e.g. ssh-dss). */
  signing: SigningKey | null;
}

const CERT_SUFFIX = '-cert-v01@openssh.com';
const EC_TYPES: Record<string, EcCurve> = {
  'ecdsa-sha2-nistp256': 'nistp256',
  'ecdsa-sha2-nistp384': 'nistp384',
  'ecdsa-sha2-nistp521': 'nistp521',
};

/** Type name without the certificate suffix: the algorithm family a signature uses. */
export function baseType(type: string): string {
  return type.endsWith(CERT_SUFFIX) ? type.slice(0, -CERT_SUFFIX.length) : type;
}

function readSigningKey(base: string, r: Reader): SigningKey | null {
  if (base === 'ssh-ed25519') {
    const pk = r.string('ed25519 key');
    if (pk.length !== 32) throw new WireError('ed25519 key: must be 32 bytes');
    return { kind: 'ed25519', pk };
  }
  if (base === 'ssh-rsa') {
    const e = r.mpint('rsa e');
    const n = r.mpint('rsa n');
    if (n.length < 128 || e.length === 0) throw new WireError('rsa key: modulus too small');
    return { kind: 'rsa', e, n };
  }
  const curve = EC_TYPES[base];
  if (curve) {
    if (r.name('ecdsa curve') !== curve)
      throw new WireError('ecdsa key: curve does not match type');
    return { kind: 'ecdsa', curve, q: r.string('ecdsa point') };
  }
  if (base === 'sk-ssh-ed25519@openssh.com') {
    const pk = r.string('sk-ed25519 key');
    if (pk.length !== 32) throw new WireError('sk-ed25519 key: must be 32 bytes');
    return { kind: 'sk-ed25519', pk, application: r.string('sk application') };
  }
  if (base === 'sk-ecdsa-sha2-nistp256@openssh.com') {
    if (r.name('ecdsa curve') !== 'nistp256') throw new WireError('sk-ecdsa key: wrong curve');
    const q = r.string('ecdsa point');
    return { kind: 'sk-ecdsa', curve: 'nistp256', q, application: r.string('sk application') };
  }
  return null;
}

/** Parse a public key (or certificate) wire blob. Throws WireError on malformed known types. */
export function parseKeyBlob(blob: Buffer): PublicKey {
  const r = new Reader(blob);
  const type = r.name('key type');
  const certificate = type.endsWith(CERT_SUFFIX);
  if (certificate) r.string('certificate nonce');
  const signing = readSigningKey(baseType(type), r);
  // A plain key must end exactly; a certificate carries serial, principals, CA… after the key.
  if (signing && !certificate) r.end('public key');
  return { type, blob, certificate, signing };
}

/** An mpint as OpenSSH writes it: the magnitude, with one zero byte before a set top bit. */
function mpint(magnitude: Buffer): Buffer {
  const top = magnitude[0] ?? 0;
  return string(top & 0x80 ? Buffer.concat([Buffer.from([0]), magnitude]) : magnitude);
}

/** The one blob OpenSSH itself writes for a plain key; null for a certificate or unknown type. */
function canonicalBlob(key: PublicKey): Buffer | null {
  const s = key.signing;
  if (!s || key.certificate) return null;
  const type = string(key.type);
  switch (s.kind) {
    case 'ed25519':
      return Buffer.concat([type, string(s.pk)]);
    case 'rsa':
      return Buffer.concat([type, mpint(s.e), mpint(s.n)]);
    case 'ecdsa':
      return Buffer.concat([type, string(s.curve), string(s.q)]);
    case 'sk-ed25519':
      return Buffer.concat([type, string(s.pk), string(s.application)]);
    case 'sk-ecdsa':
      return Buffer.concat([type, string(s.curve), string(s.q), string(s.application)]);
  }
}

/**
 * Whether a blob a client sent is the encoding OpenSSH writes for its key. OpenSSH reads an
 * RSA number with extra leading zero bytes as the same number, so a re-encoded blob of the
 * user's key gets a real signature from the agent while its SHA-256 — the fingerprint a
 * person, the log and the audit are shown — is one no key has. Such a blob is refused, so
 * a fingerprint always names the key that signs. (A certificate's blob is compared whole by
 * the agent; a type this proxy cannot check is refused elsewhere.)
 */
export function isCanonicalBlob(key: PublicKey): boolean {
  const canonical = canonicalBlob(key);
  return canonical === null || canonical.equals(key.blob);
}

export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export function authorizedKeyLine(key: PublicKey, comment = ''): string {
  const c = comment.replace(/[\r\n]+/g, ' ').trim();
  return `${key.type} ${key.blob.toString('base64')}${c ? ` ${c}` : ''}`;
}

const TYPE_TOKEN = /^(ssh-|ecdsa-|sk-)[A-Za-z0-9@._-]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Parse an authorized_keys line (options before the key are skipped; `key::`, the prefix
 * git uses for literal keys, is accepted). Returns the key and the trailing comment.
 */
export function parseAuthorizedKey(line: string): { key: PublicKey; comment: string } {
  const text = line.trim().replace(/^key::/, '');
  const tokens = text.split(/\s+/);
  for (let i = 0; i + 1 < tokens.length; i++) {
    const type = tokens[i] as string;
    const b64 = tokens[i + 1] as string;
    if (!TYPE_TOKEN.test(type) || !BASE64.test(b64)) continue;
    const key = parseKeyBlob(Buffer.from(b64, 'base64'));
    if (key.type !== type) {
      throw new WireError(`key type ${type} does not match the encoded key (${key.type})`);
    }
    return { key, comment: tokens.slice(i + 2).join(' ') };
  }
  throw new WireError('not an OpenSSH public key line (expected "TYPE BASE64 [comment]")');
}

/** What `ssh-keygen -l` calls the key family, for people. */
export function keyLabel(key: PublicKey): string {
  const s = key.signing;
  const suffix = key.certificate ? '-CERT' : '';
  if (!s) return key.type;
  switch (s.kind) {
    case 'ed25519':
      return `ED25519${suffix}`;
    case 'sk-ed25519':
      return `ED25519-SK${suffix}`;
    case 'rsa':
      return `RSA ${bitLength(s.n)}${suffix}`;
    case 'ecdsa':
      return `ECDSA ${s.curve.slice(5)}${suffix}`;
    case 'sk-ecdsa':
      return `ECDSA-SK${suffix}`;
  }
}

function bitLength(n: Buffer): number {
  const top = n[0] ?? 0;
  return n.length === 0 ? 0 : (n.length - 1) * 8 + (32 - Math.clz32(top));
}
