// What a host key in session-bind may be before its signature is checked at all. The check
// runs on the proxy's one thread, and a client chooses the key: an RSA key with a huge
// modulus or exponent costs tens of milliseconds per check even with a garbage signature,
// and a small-order Ed25519 key "verifies" a forged signature over any session id.
import type { PublicKey } from '../ssh/keys.js';

/** OpenSSH's SSH_RSA_MINIMUM_MODULUS_SIZE (sshkey.h): smaller keys are refused everywhere. */
export const RSA_MIN_MODULUS_BITS = 1024;
/** OpenSSL's OPENSSL_RSA_MAX_MODULUS_BITS, which sshkey_check_rsa_length applies too. */
export const RSA_MAX_MODULUS_BITS = 16384;
/**
 * OpenSSL's OPENSSL_RSA_MAX_PUBEXP_BITS, which it applies to moduli above 3,072 bits;
 * here to every size. Every key OpenSSH makes uses e = 65537 (17 bits); other tools use 3,
 * 17 or 65537. A longer exponent only makes a check cost more.
 */
export const RSA_MAX_EXPONENT_BITS = 64;

export class HostKeyRefused extends Error {
  override name = 'HostKeyRefused';
}

/** Bits of a big-endian unsigned integer (an SSH mpint's magnitude). */
export function bitLength(n: Buffer): number {
  let i = 0;
  while (i < n.length && n[i] === 0) i++;
  if (i === n.length) return 0;
  return (n.length - i - 1) * 8 + (32 - Math.clz32(n[i]!));
}

const P = 2n ** 255n - 19n;
/**
 * The y coordinates of the Ed25519 points of order 1, 2, 4 and 8 (libsodium's
 * has_small_order blocklist, as numbers): y = 1 (the identity), p − 1, 0, and ±y8.
 */
const Y8 = 2707385501144840649318225287225658788936804267575313519463743609750303402022n;
export const SMALL_ORDER_Y: readonly bigint[] = [0n, 1n, P - 1n, Y8, P - Y8];

/** Whether an Ed25519 public key (32 bytes) encodes a point of small order, in any encoding. */
export function isSmallOrderEd25519(pk: Buffer): boolean {
  if (pk.length !== 32) return false;
  const le = Buffer.from(pk);
  le[31]! &= 0x7f; // the sign of x: both signs of a small-order y are small-order
  const y = BigInt(`0x${Buffer.from(le).reverse().toString('hex')}`) % P;
  return SMALL_ORDER_Y.includes(y);
}

/** Throws HostKeyRefused for a host key whose check would be too costly or meaningless. */
export function checkHostKeyBounds(key: PublicKey): void {
  const s = key.signing;
  if (s?.kind === 'rsa') {
    const bits = bitLength(s.n);
    if (bits < RSA_MIN_MODULUS_BITS || bits > RSA_MAX_MODULUS_BITS)
      throw new HostKeyRefused(
        `RSA host key of ${bits} bits (OpenSSH accepts ${RSA_MIN_MODULUS_BITS} to ${RSA_MAX_MODULUS_BITS})`,
      );
    const eBits = bitLength(s.e);
    if (eBits > RSA_MAX_EXPONENT_BITS || eBits < 2 || (s.e[s.e.length - 1]! & 1) === 0)
      throw new HostKeyRefused(
        `RSA host key exponent of ${eBits} bits (an odd exponent of at most ${RSA_MAX_EXPONENT_BITS} bits)`,
      );
  }
  if (s?.kind === 'ed25519' && isSmallOrderEd25519(s.pk))
    throw new HostKeyRefused('Ed25519 host key of small order (it would verify any signature)');
}

/**
 * What checking a signature by `key` costs, in units of one Ed25519 or ECDSA check. RSA's
 * public operation grows with the square of the modulus and with the exponent's length:
 * a 2,048-bit key with e = 65537 is one unit, 4,096 bits four, 16,384 bits 64 and more.
 */
export function verificationCost(key: PublicKey): number {
  const s = key.signing;
  if (s?.kind !== 'rsa') return 1;
  const m = bitLength(s.n) / 2048;
  return Math.max(1, Math.ceil(m * m * Math.max(1, bitLength(s.e) / 17)));
}
