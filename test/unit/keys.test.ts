import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  authorizedKeyLine,
  fingerprint,
  keyLabel,
  parseAuthorizedKey,
  parseKeyBlob,
} from '../../src/core/ssh/keys.js';
import { parseKeySpec } from '../../src/core/agent/key-selection.js';
import { WireError } from '../../src/core/ssh/wire.js';
import { makeKey, mustRun, tempDir, type KeyKind, type TestKey } from '../helpers/openssh.js';

const KINDS: KeyKind[] = ['ed25519', 'rsa', 'ecdsa256', 'ecdsa384', 'ecdsa521'];
let keys: TestKey[];
let dir: string;

before(async () => {
  dir = tempDir();
  keys = await Promise.all(KINDS.map((k) => makeKey(dir, k)));
});

describe('public keys', () => {
  it('fingerprints match ssh-keygen -lf for every key type', async () => {
    for (const k of keys) {
      const { key, comment } = parseAuthorizedKey(k.line);
      assert.equal(fingerprint(key.blob), k.fingerprint);
      assert.equal(comment, `${k.kind}@test`);
      assert.equal(authorizedKeyLine(key, comment), k.line);
      assert.ok(key.signing, `${k.kind} is a signing key`);
      const lf = await mustRun('ssh-keygen', ['-lf', k.pub]);
      assert.ok(lf.includes(`(${keyLabel(key).split(' ')[0]})`), `${lf} vs ${keyLabel(key)}`);
      assert.ok(
        lf.startsWith(`${keyLabel(key).split(' ')[1] ?? ''}`) || !keyLabel(key).startsWith('RSA'),
      );
    }
  });

  it('parses certificates to their base key', async () => {
    const ca = keys[0]!;
    await mustRun('ssh-keygen', ['-q', '-s', ca.priv, '-I', 'id', '-n', 'ana', keys[1]!.pub]);
    const cert = parseAuthorizedKey(readFileSync(`${keys[1]!.priv}-cert.pub`, 'utf8')).key;
    assert.equal(cert.type, 'ssh-rsa-cert-v01@openssh.com');
    assert.equal(cert.certificate, true);
    assert.equal(cert.signing?.kind, 'rsa');
    assert.equal(keyLabel(cert), 'RSA 3072-CERT');
  });

  it("accepts options before the key and git's key:: prefix", () => {
    const k = keys[0]!;
    assert.equal(
      parseAuthorizedKey(`restrict,command="echo hi" ${k.line}`).key.type,
      'ssh-ed25519',
    );
    assert.equal(parseAuthorizedKey(`key::${k.line}`).key.type, 'ssh-ed25519');
  });

  it('rejects mismatched types, truncated blobs and garbage', () => {
    const [type, b64] = keys[0]!.line.split(' ') as [string, string];
    assert.throws(() => parseAuthorizedKey(`ssh-rsa ${b64}`), /does not match/);
    const blob = Buffer.from(b64, 'base64');
    assert.throws(() => parseKeyBlob(blob.subarray(0, blob.length - 1)), WireError);
    assert.throws(() => parseKeyBlob(Buffer.concat([blob, Buffer.from([0])])), /trailing/);
    assert.throws(() => parseAuthorizedKey('hello world'), /not an OpenSSH public key line/);
    assert.equal(type, 'ssh-ed25519');
  });

  it('unknown key types are listed but not signing keys', () => {
    const blob = Buffer.from('AAAAB3NzaC1kc3MAAAABAQ==', 'base64'); // "ssh-dss" + junk
    const k = parseKeyBlob(blob);
    assert.equal(k.type, 'ssh-dss');
    assert.equal(k.signing, null);
  });

  it('random blobs never throw anything but WireError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          parseKeyBlob(Buffer.from(bytes));
        } catch (err) {
          assert.ok(err instanceof WireError, String(err));
        }
      }),
    );
  });

  it('key specs: fingerprint or line → fingerprint; anything else → 400', () => {
    const k = keys[2]!;
    assert.equal(parseKeySpec(k.fingerprint, 'key'), k.fingerprint);
    assert.equal(parseKeySpec(k.line, 'key'), k.fingerprint);
    assert.throws(
      () => parseKeySpec('SHA256:abc', 'the key parameter'),
      /the key parameter must be/,
    );
  });
});
