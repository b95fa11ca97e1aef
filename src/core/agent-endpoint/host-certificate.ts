// An OpenSSH host certificate (PROTOCOL.certkeys), read only as far as known_hosts needs:
// who signed it (the CA key), for which names (principals), when it is valid, and whether
// the CA's signature over it holds. A certificate is a claim by whoever made it; only the
// signature check against a CA the person trusts (@cert-authority) makes it mean anything.
import { parseKeyBlob, type PublicKey } from '../ssh/keys.js';
import { Reader } from '../ssh/wire.js';
import { checkSshSignature, hostKeyAlgorithms } from './ssh-signature.js';

const SSH2_CERT_TYPE_HOST = 2;

/** Public-key fields after the nonce, per key family (PROTOCOL.certkeys). */
const KEY_FIELDS: Record<string, number> = {
  'ssh-ed25519': 1,
  'ssh-rsa': 2,
  'ecdsa-sha2-nistp256': 2,
  'ecdsa-sha2-nistp384': 2,
  'ecdsa-sha2-nistp521': 2,
  'sk-ssh-ed25519@openssh.com': 2,
  'sk-ecdsa-sha2-nistp256@openssh.com': 3,
};

export interface HostCertificate {
  principals: string[];
  validAfter: bigint;
  validBefore: bigint;
  ca: PublicKey;
  /** The certificate up to its signature: what the CA signed. */
  signed: Buffer;
  signature: Buffer;
}

function uint64(r: Reader, what: string): bigint {
  return r.raw(8, what).readBigUInt64BE(0);
}

/** The host certificate in `key`, or null when it is not one (or malformed). */
export function readHostCertificate(key: PublicKey): HostCertificate | null {
  if (!key.certificate) return null;
  try {
    const r = new Reader(key.blob);
    const type = r.name('type');
    const fields = KEY_FIELDS[type.replace(/-cert-v01@openssh\.com$/, '')];
    if (fields === undefined) return null;
    r.string('nonce');
    for (let i = 0; i < fields; i++) r.string('key field');
    uint64(r, 'serial');
    if (r.uint32('certificate type') !== SSH2_CERT_TYPE_HOST) return null;
    r.string('key id');
    const p = new Reader(r.string('principals'));
    const principals: string[] = [];
    while (p.remaining > 0) principals.push(p.string('principal').toString('utf8'));
    const validAfter = uint64(r, 'valid after');
    const validBefore = uint64(r, 'valid before');
    r.string('critical options');
    r.string('extensions');
    r.string('reserved');
    const ca = parseKeyBlob(Buffer.from(r.string('signature key')));
    const signed = key.blob.subarray(0, key.blob.length - r.remaining);
    const signature = Buffer.from(r.string('signature'));
    r.end('certificate');
    return { principals, validAfter, validBefore, ca, signed, signature };
  } catch {
    return null;
  }
}

/** Valid now and signed by its CA (the caller decides whether it trusts that CA). */
export function certificateHolds(c: HostCertificate, nowSeconds: number): boolean {
  const now = BigInt(Math.floor(nowSeconds));
  if (now < c.validAfter || now >= c.validBefore) return false;
  try {
    checkSshSignature(c.ca, c.signed, c.signature, hostKeyAlgorithms(c.ca));
    return true;
  } catch {
    return false;
  }
}
