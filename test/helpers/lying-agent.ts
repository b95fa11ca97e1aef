// An in-test agent that lies, for what no real agent does: truncated frames, huge lengths,
// wrong message types, a downgraded RSA signature, corrupted signature bytes, hangs.
// It signs honestly with tweetnacl (Ed25519) or node:crypto (RSA) when told to.
import { generateKeyPairSync, sign as rsaSign, createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import nacl from 'tweetnacl';
import { byte, Reader, string, uint32 } from '../../src/core/ssh/wire.js';
import { localSocketPath, onCleanup } from './openssh.js';

export type Lie =
  | 'honest'
  | 'truncated'
  | 'huge-length'
  | 'wrong-type'
  | 'failure'
  | 'rsa-sha1'
  | 'corrupt-signature'
  | 'wrong-key-signature'
  | 'trailing-bytes'
  | 'hang'
  | 'close-mid-answer'
  | 'close-unanswered'
  | 'wrong-type-then-answer'
  | 'failure-with-bytes'
  | 'bogus-key-count'
  | 'sk-no-presence'
  | 'sk-honest';

export interface LyingAgent {
  sock: string;
  lie: Lie;
  /** Messages received, by type: proves what reached the agent. */
  received: number[];
  ed25519Line: string;
  rsaLine: string;
  skLine: string;
  skEcdsaLine: string;
  close(): void;
}

function frame(payload: Buffer): Buffer {
  return Buffer.concat([uint32(payload.length), payload]);
}

export async function startLyingAgent(
  dir: string,
  kinds: ('ed25519' | 'rsa' | 'sk' | 'sk-ecdsa')[] = ['ed25519'],
): Promise<LyingAgent> {
  const ed = nacl.sign.keyPair();
  const edBlob = Buffer.concat([string('ssh-ed25519'), string(Buffer.from(ed.publicKey))]);
  const other = nacl.sign.keyPair();
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = rsa.publicKey.export({ format: 'jwk' });
  const mp = (b64: string) => {
    const b = Buffer.from(b64, 'base64url');
    return string((b[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
  };
  const rsaBlob = Buffer.concat([string('ssh-rsa'), mp(jwk.e!), mp(jwk.n!)]);
  const skApp = Buffer.from('ssh:');
  const skBlob = Buffer.concat([
    string('sk-ssh-ed25519@openssh.com'),
    string(Buffer.from(ed.publicKey)),
    string(skApp),
  ]);
  // A security-key ECDSA P-256 key, signing the way the authenticator does (PROTOCOL.u2f).
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ecJwk = ec.publicKey.export({ format: 'jwk' });
  const q = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(ecJwk.x!, 'base64url'),
    Buffer.from(ecJwk.y!, 'base64url'),
  ]);
  const skEcBlob = Buffer.concat([
    string('sk-ecdsa-sha2-nistp256@openssh.com'),
    string('nistp256'),
    string(q),
    string(skApp),
  ]);
  const blobs = { ed25519: edBlob, rsa: rsaBlob, sk: skBlob, 'sk-ecdsa': skEcBlob };

  const state: LyingAgent = {
    sock: localSocketPath(dir, `lying-${process.pid}-${Math.random().toString(36).slice(2)}.sock`),
    lie: 'honest',
    received: [],
    ed25519Line: `ssh-ed25519 ${edBlob.toString('base64')}`,
    rsaLine: `ssh-rsa ${rsaBlob.toString('base64')}`,
    skLine: `sk-ssh-ed25519@openssh.com ${skBlob.toString('base64')}`,
    skEcdsaLine: `sk-ecdsa-sha2-nistp256@openssh.com ${skEcBlob.toString('base64')}`,
    close: () => server.close(),
  };

  const answer = (sock: Socket, type: number, body: Buffer) =>
    sock.write(frame(Buffer.concat([byte(type), body])));

  const signFor = (keyBlob: Buffer, data: Buffer, flags: number): Buffer => {
    if (keyBlob.equals(rsaBlob)) {
      if (state.lie === 'rsa-sha1')
        return Buffer.concat([string('ssh-rsa'), string(rsaSign('sha1', data, rsa.privateKey))]);
      const alg = flags & 4 ? 'rsa-sha2-512' : 'ssh-rsa';
      return Buffer.concat([
        string(alg),
        string(rsaSign(flags & 4 ? 'sha512' : 'sha1', data, rsa.privateKey)),
      ]);
    }
    if (keyBlob.equals(skBlob) || keyBlob.equals(skEcBlob)) {
      const flagsByte = state.lie === 'sk-no-presence' ? 0x00 : 0x01;
      const counter = 42;
      const fc = Buffer.alloc(5);
      fc.writeUInt8(flagsByte, 0);
      fc.writeUInt32BE(counter, 1);
      const h = (b: Buffer) => createHash('sha256').update(b).digest();
      const signed = Buffer.concat([h(skApp), fc, h(data)]);
      if (keyBlob.equals(skEcBlob)) {
        const rs = rsaSign('sha256', signed, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
        const mpint = (b: Buffer) =>
          string(
            (b[0] as number) & 0x80
              ? Buffer.concat([Buffer.from([0]), b])
              : b.subarray(b.findIndex((x) => x !== 0)),
          );
        const inner = Buffer.concat([mpint(rs.subarray(0, 32)), mpint(rs.subarray(32))]);
        return Buffer.concat([string('sk-ecdsa-sha2-nistp256@openssh.com'), string(inner), fc]);
      }
      const sig = Buffer.from(nacl.sign.detached(signed, ed.secretKey));
      return Buffer.concat([string('sk-ssh-ed25519@openssh.com'), string(sig), fc]);
    }
    const key = state.lie === 'wrong-key-signature' ? other.secretKey : ed.secretKey;
    const sig = Buffer.from(nacl.sign.detached(data, key));
    if (state.lie === 'corrupt-signature') sig[10] = (sig[10] as number) ^ 0xff;
    return Buffer.concat([string('ssh-ed25519'), string(sig)]);
  };

  const lateAnswers = new Map<Socket, Buffer>();
  const onMessage = (sock: Socket, msg: Buffer) => {
    const r = new Reader(msg);
    const type = r.byte();
    state.received.push(type);
    const late = lateAnswers.get(sock);
    if (late) {
      lateAnswers.delete(sock);
      sock.write(late);
    }
    if (type === 11) {
      if (state.lie === 'bogus-key-count') return answer(sock, 12, uint32(1_000_000_000));
      const list = kinds.map((k) => Buffer.concat([string(blobs[k]), string(`${k}@lying`)]));
      return answer(sock, 12, Buffer.concat([uint32(list.length), ...list]));
    }
    if (type !== 13) return answer(sock, 5, Buffer.alloc(0));
    const keyBlob = r.string();
    const data = r.string();
    const flags = r.uint32();
    switch (state.lie) {
      case 'hang':
        return;
      case 'truncated':
        sock.write(Buffer.concat([uint32(100), byte(14), Buffer.alloc(10)]));
        return void sock.end();
      case 'huge-length':
        return void sock.write(uint32(0x7fffffff));
      case 'wrong-type':
        return answer(sock, 99, string('surprise'));
      case 'wrong-type-then-answer': {
        // Out of step: a stray answer now, the real one only when the next request comes,
        // just ahead of that request's own answer.
        answer(sock, 99, string('surprise'));
        const late = frame(Buffer.concat([byte(14), string(signFor(keyBlob, data, flags))]));
        lateAnswers.set(sock, late);
        return;
      }
      case 'failure':
        return answer(sock, 5, Buffer.alloc(0));
      case 'failure-with-bytes':
        return answer(sock, 5, Buffer.from([0]));
      case 'close-unanswered':
        return void sock.destroy();
      case 'close-mid-answer':
        sock.write(Buffer.from([0, 0]));
        return void sock.destroy();
      case 'trailing-bytes':
        return answer(
          sock,
          14,
          Buffer.concat([string(signFor(keyBlob, data, flags)), Buffer.from('extra')]),
        );
      default:
        return answer(sock, 14, string(signFor(keyBlob, data, flags)));
    }
  };

  const open = new Set<Socket>();
  const server: Server = createServer((sock) => {
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    let buf = Buffer.alloc(0);
    sock.on('error', () => {});
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 4) {
        const len = buf.readUInt32BE(0);
        if (buf.length < 4 + len) return;
        const msg = buf.subarray(4, 4 + len);
        buf = buf.subarray(4 + len);
        onMessage(sock, msg);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(state.sock, resolve));
  onCleanup(() => {
    for (const c of open) c.destroy(); // kept connections of a failed test: not left open
    server.close();
  });
  return state;
}
