// An Ed25519 key that is the same in every run, written in OpenSSH's own private key format
// (PROTOCOL.key: "openssh-key-v1", unencrypted), so screenshots of the window show the same
// fingerprint each time and do not churn. ssh-keygen and ssh-agent read it like any key.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, type TestKey } from '../helpers/openssh.js';

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function sshString(b: Buffer | string): Buffer {
  const body = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** Write the key made from `seedByte` (repeated) to dir/name (and dir/name.pub). */
export async function fixedEd25519Key(
  dir: string,
  name: string,
  comment: string,
  seedByte = 7,
): Promise<TestKey> {
  const seed = Buffer.alloc(32, seedByte);
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const pub = Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x!, 'base64url');
  const pubBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = uint32(0x5a5a5a5a); // any value, written twice: it only detects a wrong passphrase
  let priv = Buffer.concat([
    check,
    check,
    sshString('ssh-ed25519'),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  // Padded to the cipher's block size (8 for "none") with the bytes 1, 2, 3, …
  const pad: number[] = [];
  while ((priv.length + pad.length) % 8 !== 0) pad.push(pad.length + 1);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const blob = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(pubBlob),
    sshString(priv),
  ]);
  const b64 = blob.toString('base64').replace(/.{1,70}/g, '$&\n');
  const path = join(dir, name);
  writeFileSync(
    path,
    `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}-----END OPENSSH PRIVATE KEY-----\n`,
    { mode: 0o600 },
  );
  const line = `ssh-ed25519 ${pubBlob.toString('base64')} ${comment}`;
  writeFileSync(`${path}.pub`, `${line}\n`);
  // ssh-keygen must derive the same public key from the private file: the format is right.
  const y = await run('ssh-keygen', ['-y', '-f', path]);
  if (y.code !== 0 || !line.startsWith(y.stdout.trim()))
    throw new Error(`ssh-keygen does not read the fixed key: ${y.stderr}`);
  const l = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${path}.pub`]);
  return {
    kind: 'ed25519',
    priv: path,
    pub: `${path}.pub`,
    line,
    fingerprint: l.stdout.split(' ')[1]!,
  };
}
