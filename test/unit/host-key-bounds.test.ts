// The host-key bounds, checked against arithmetic rather than against themselves: each
// "small-order" y is shown to be a curve point that three doublings take to the identity;
// real keys from ssh-keygen pass; the RSA limits sit where OpenSSH's are.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import {
  bitLength,
  checkHostKeyBounds,
  HostKeyRefused,
  isSmallOrderEd25519,
  SMALL_ORDER_Y,
  verificationCost,
} from '../../src/core/agent-endpoint/host-key-bounds.js';
import { VerificationBudget } from '../../src/core/agent-endpoint/verification-budget.js';
import { parseAuthorizedKey, type PublicKey } from '../../src/core/ssh/keys.js';
import { makeKey, tempDir, type TestKey } from '../helpers/openssh.js';

const P = 2n ** 255n - 19n;
const mod = (a: bigint) => ((a % P) + P) % P;
const pow = (b: bigint, e: bigint): bigint => {
  let r = 1n;
  b = mod(b);
  while (e > 0n) {
    if (e & 1n) r = mod(r * b);
    b = mod(b * b);
    e >>= 1n;
  }
  return r;
};
const inv = (a: bigint) => pow(a, P - 2n);
const D = mod(-121665n * inv(121666n));
const SQRT_M1 = pow(2n, (P - 1n) / 4n);

/** x for y on edwards25519 (−x² + y² = 1 + d·x²·y²), or null when y is on no point. */
function xFor(y: bigint): bigint | null {
  const x2 = mod((y * y - 1n) * inv(D * y * y + 1n));
  let x = pow(x2, (P + 3n) / 8n);
  if (mod(x * x - x2) !== 0n) x = mod(x * SQRT_M1);
  return mod(x * x - x2) === 0n ? x : null;
}

function add([x1, y1]: [bigint, bigint], [x2, y2]: [bigint, bigint]): [bigint, bigint] {
  const t = mod(D * x1 * x2 * y1 * y2);
  return [mod((x1 * y2 + y1 * x2) * inv(1n + t)), mod((y1 * y2 + x1 * x2) * inv(1n - t))];
}

const encode = (y: bigint, signBit = 0) => {
  const b = Buffer.from(y.toString(16).padStart(64, '0'), 'hex').reverse();
  b[31]! |= signBit << 7;
  return b;
};

const rsaKey = (eBits: number, nBits: number): PublicKey => {
  const odd = (bits: number) => {
    const b = randomBytes(Math.ceil(bits / 8));
    const top = bits % 8 || 8;
    b[0] = (b[0]! & ((1 << top) - 1)) | (1 << (top - 1));
    b[b.length - 1]! |= 1;
    return b;
  };
  return {
    type: 'ssh-rsa',
    blob: Buffer.alloc(0),
    certificate: false,
    signing: { kind: 'rsa', e: odd(eBits), n: odd(nBits) },
  };
};

let ed: TestKey;
let rsa: TestKey;
before(async () => {
  const dir = tempDir();
  ed = await makeKey(dir, 'ed25519', 'real-ed');
  rsa = await makeKey(dir, 'rsa', 'real-rsa');
});

describe('host-key bounds', () => {
  it('each listed y is a point whose eighth multiple is the identity, in any encoding of it', () => {
    for (const y of SMALL_ORDER_Y) {
      const x = xFor(y);
      assert.notEqual(x, null, `y=${y} is on the curve`);
      let pt: [bigint, bigint] = [x!, y];
      for (let i = 0; i < 3; i++) pt = add(pt, pt);
      assert.deepEqual(pt, [0n, 1n], `[8]P is the identity for y=${y}`);
      assert.equal(isSmallOrderEd25519(encode(y)), true);
      assert.equal(isSmallOrderEd25519(encode(y, 1)), true, 'with the sign bit set');
      // y + p still fits in 255 bits for these: a non-canonical encoding of the same point.
      if (y + P < 2n ** 255n) assert.equal(isSmallOrderEd25519(encode(y + P)), true);
    }
  });

  it('real Ed25519 and RSA keys from ssh-keygen pass, and cost what they should', () => {
    const e = parseAuthorizedKey(ed.line).key;
    const r = parseAuthorizedKey(rsa.line).key;
    assert.doesNotThrow(() => checkHostKeyBounds(e));
    assert.doesNotThrow(() => checkHostKeyBounds(r));
    assert.equal(verificationCost(e), 1);
    // RSA 3072 from ssh-keygen, e = 65537: (3072/2048)² rounded up.
    assert.equal(verificationCost(r), 3);
  });

  it('RSA: 1,024 to 16,384 bits, an odd exponent of at most 64 bits', () => {
    assert.doesNotThrow(() => checkHostKeyBounds(rsaKey(17, 1024)));
    assert.doesNotThrow(() => checkHostKeyBounds(rsaKey(64, 16384)));
    assert.throws(() => checkHostKeyBounds(rsaKey(17, 1023)), HostKeyRefused);
    assert.throws(() => checkHostKeyBounds(rsaKey(17, 16385)), HostKeyRefused);
    assert.throws(() => checkHostKeyBounds(rsaKey(65, 2048)), /exponent of 65 bits/);
    assert.throws(() => checkHostKeyBounds(rsaKey(3064, 3072)), /exponent of 3064 bits/);
    const even = rsaKey(17, 2048);
    if (even.signing?.kind === 'rsa') even.signing.e[even.signing.e.length - 1]! &= 0xfe;
    assert.throws(() => checkHostKeyBounds(even), /exponent/);
    assert.equal(bitLength(Buffer.from([0, 0, 1, 0])), 9);
    assert.equal(bitLength(Buffer.alloc(3)), 0);
  });

  it('the verification budget: per client, spent by cost, refilled with time', () => {
    let t = 0;
    const b = new VerificationBudget(
      { burst: 10, perSecond: 5 },
      { now: () => t, setTimer: () => () => {} },
    );
    assert.equal(b.spend('a', 8), true);
    assert.equal(b.spend('a', 3), false, 'two left, three asked');
    assert.equal(b.spend('b', 10), true, "another client's bucket is its own");
    assert.equal(b.spend('a', 2), true);
    assert.equal(b.spend('a', 1), false);
    t += 1_000;
    assert.equal(b.spend('a', 5), true, 'five back after a second');
    assert.equal(b.spend('a', 1), false);
    t += 60_000;
    assert.equal(b.spend('a', 11), false, 'never more than the burst');
    assert.equal(b.spend('a', 10), true);
  });
});
