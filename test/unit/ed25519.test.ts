import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import nacl from 'tweetnacl';
import { ed25519Impl, verifyEd25519 } from '../../src/core/ssh/ed25519.js';

describe('ed25519 verification', () => {
  it('Node 20 has Ed25519 in node:crypto, so the fast path is used', () => {
    assert.equal(ed25519Impl(), 'node');
  });

  it('node:crypto and the tweetnacl fallback agree on valid and invalid signatures', () => {
    for (let i = 0; i < 20; i++) {
      const kp = nacl.sign.keyPair();
      const msg = randomBytes(i * 13);
      const sig = Buffer.from(nacl.sign.detached(msg, kp.secretKey));
      const pk = Buffer.from(kp.publicKey);
      const bad = Buffer.from(sig);
      bad[i % 64] = (bad[i % 64] as number) ^ 1;
      for (const impl of ['node', 'tweetnacl'] as const) {
        assert.equal(verifyEd25519(pk, msg, sig, impl), true, impl);
        assert.equal(verifyEd25519(pk, msg, bad, impl), false, impl);
        assert.equal(verifyEd25519(pk, msg, sig.subarray(1), impl), false, `${impl} short`);
      }
    }
  });
});
