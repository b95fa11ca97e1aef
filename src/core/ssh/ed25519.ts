// Ed25519 verification: node:crypto when the runtime has it (~100× faster), tweetnacl
// otherwise. Probed once, against RFC 8032's first test vector.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import nacl from 'tweetnacl';

export type Ed25519Impl = 'node' | 'tweetnacl';

const RFC8032_PK = Buffer.from(
  'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
  'hex',
);
const RFC8032_SIG = Buffer.from(
  'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  'hex',
);

const keys = new Map<string, KeyObject>();

function nodeVerify(pk: Buffer, msg: Buffer, sig: Buffer): boolean {
  const id = pk.toString('base64url');
  let key = keys.get(id);
  if (!key) {
    if (keys.size >= 256) keys.clear(); // public keys only; bounded
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: id }, format: 'jwk' });
    keys.set(id, key);
  }
  return verify(null, msg, key, sig);
}

function naclVerify(pk: Buffer, msg: Buffer, sig: Buffer): boolean {
  return nacl.sign.detached.verify(msg, sig, pk);
}

let probed: Ed25519Impl | undefined;

/** Which implementation this runtime uses; probes on first call. */
export function ed25519Impl(): Ed25519Impl {
  if (!probed) {
    try {
      probed = nodeVerify(RFC8032_PK, Buffer.alloc(0), RFC8032_SIG) ? 'node' : 'tweetnacl';
    } catch {
      probed = 'tweetnacl';
    }
  }
  return probed;
}

export function verifyEd25519(
  pk: Buffer,
  msg: Buffer,
  sig: Buffer,
  impl: Ed25519Impl = ed25519Impl(),
): boolean {
  if (pk.length !== 32 || sig.length !== 64) return false;
  return impl === 'node' ? nodeVerify(pk, msg, sig) : naclVerify(pk, msg, sig);
}
