// The agent endpoint's pure parts with real OpenSSH material: framing, the userauth
// signed-data parse, session-bind verification with signatures made by a real ssh-agent
// holding host keys, and known_hosts lookups against files made and hashed by ssh-keygen
// (differential with `ssh-keygen -F`).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { withAgent } from '../../src/core/agent/agent-client.js';
import { fingerprint, parseAuthorizedKey, type PublicKey } from '../../src/core/ssh/keys.js';
import { byte, string, uint32 } from '../../src/core/ssh/wire.js';
import {
  describeData,
  describeLogin,
  LoginRefused,
} from '../../src/core/agent-endpoint/describe-login.js';
import { frame, FrameError, FrameReader } from '../../src/core/agent/frames.js';
import { lookupHost } from '../../src/core/agent-endpoint/known-hosts.js';
import { readHostCertificate } from '../../src/core/agent-endpoint/host-certificate.js';
import {
  Bindings,
  parseSessionBind,
  SessionBindError,
  verifySessionBind,
  type SessionBind,
} from '../../src/core/agent-endpoint/session-bind.js';
import { requestedAlgorithm } from '../../src/core/agent-endpoint/ssh-signature.js';
import { parseUserauth } from '../../src/core/agent-endpoint/userauth.js';
import { sshLoginText } from '../../src/core/approval/describe.js';
import { headline, requestLines } from '../../src/core/approval/request-view.js';
import {
  makeKey,
  mustRun,
  startAgent,
  tempDir,
  type Agent,
  type KeyKind,
  type TestKey,
} from '../helpers/openssh.js';

const TIMEOUTS = { connectMs: 5_000, listMs: 10_000, signMs: 10_000 };
let dir: string;
let agent: Agent;
const hostKeys = new Map<KeyKind, TestKey>();
let userKey: TestKey;

const pub = (k: TestKey): PublicKey => parseAuthorizedKey(k.line).key;

before(async () => {
  dir = tempDir();
  agent = await startAgent(dir);
  for (const kind of ['ed25519', 'rsa', 'ecdsa256', 'ecdsa384'] as KeyKind[]) {
    const k = await makeKey(dir, kind, `host-${kind}`);
    hostKeys.set(kind, k);
    await agent.add(k);
  }
  userKey = await makeKey(dir, 'ed25519', 'user');
});

/** The real agent's signature with `k` over `data` (what an sshd's host key produces). */
function agentSign(k: TestKey, data: Buffer, flags = 0): Promise<Buffer> {
  return withAgent(agent.sock, TIMEOUTS, (c) => c.sign(pub(k).blob, data, flags));
}

function bindBody(key: PublicKey, sid: Buffer, sig: Buffer, fwd = 0): Buffer {
  return Buffer.concat([string(key.blob), string(sid), string(sig), byte(fwd)]);
}

function userauthData(
  sid: Buffer,
  user: string,
  alg: string,
  keyBlob: Buffer,
  o: { method?: string; hostKey?: Buffer; service?: string; trailing?: Buffer } = {},
): Buffer {
  return Buffer.concat([
    string(sid),
    byte(50),
    string(user),
    string(o.service ?? 'ssh-connection'),
    string(o.method ?? 'publickey'),
    byte(1),
    string(alg),
    string(keyBlob),
    ...(o.hostKey ? [string(o.hostKey)] : []),
    o.trailing ?? Buffer.alloc(0),
  ]);
}

describe('agent frames', () => {
  it('yields the same payloads however the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 20 }),
        (payloads, cuts) => {
          const stream = Buffer.concat(payloads.map((p) => frame(Buffer.from(p))));
          const r = new FrameReader();
          const out: Buffer[] = [];
          let at = 0;
          for (let i = 0; at < stream.length; i++) {
            const n = cuts[i % cuts.length]!;
            out.push(...r.push(stream.subarray(at, at + n)));
            at += n;
          }
          assert.deepEqual(
            out.map((b) => b.toString('hex')),
            payloads.map((p) => Buffer.from(p).toString('hex')),
          );
          assert.equal(r.buffered, 0);
        },
      ),
    );
  });

  it('refuses empty and oversized frames from the header alone, and stays refused', () => {
    const r = new FrameReader(1024);
    assert.throws(() => r.push(uint32(1025)), FrameError);
    assert.throws(() => r.push(frame(Buffer.from([11]))), FrameError);
    assert.throws(() => new FrameReader().push(uint32(0)), /empty frame/);
    // 256 KiB is OpenSSH's own bound; a 4 GiB claim is refused without buffering anything.
    assert.throws(() => new FrameReader().push(Buffer.from([0xff, 0xff, 0xff, 0xff])), /exceeds/);
  });
});

describe('userauth signed data (RFC 4252 §7)', () => {
  const sid = Buffer.alloc(32, 7);
  it('parses publickey and publickey-hostbound requests for the signing key', () => {
    const k = pub(userKey);
    const a = parseUserauth(userauthData(sid, 'git', 'ssh-ed25519', k.blob), k.blob, k.type);
    assert.deepEqual(
      a && { user: a.user, method: a.method, alg: a.algorithm, sid: a.sessionId.equals(sid) },
      { user: 'git', method: 'publickey', alg: 'ssh-ed25519', sid: true },
    );
    const hk = pub(hostKeys.get('ed25519')!).blob;
    const b = parseUserauth(
      userauthData(sid, 'ana', 'ssh-ed25519', k.blob, {
        method: 'publickey-hostbound-v00@openssh.com',
        hostKey: hk,
      }),
      k.blob,
      k.type,
    );
    assert.ok(b?.hostKey?.equals(hk));
  });

  it('anything else is not a login: another key, service, method, algorithm, trailing bytes', () => {
    const k = pub(userKey);
    const other = pub(hostKeys.get('ed25519')!);
    const cases = [
      userauthData(sid, 'git', 'ssh-ed25519', other.blob),
      userauthData(sid, 'git', 'ssh-ed25519', k.blob, { service: 'ssh-userauth' }),
      userauthData(sid, 'git', 'ssh-ed25519', k.blob, { method: 'password' }),
      userauthData(sid, 'git', 'rsa-sha2-512', k.blob),
      userauthData(sid, 'git', 'ssh-ed25519', k.blob, { trailing: Buffer.from([0]) }),
      userauthData(Buffer.alloc(0), 'git', 'ssh-ed25519', k.blob),
      Buffer.from('tree 0123\n'),
    ];
    for (const c of cases) assert.equal(parseUserauth(c, k.blob, k.type), null);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
        assert.equal(parseUserauth(Buffer.from(b), k.blob, k.type), null);
      }),
    );
  });

  it('RSA sign flags: SHA-2 only', () => {
    const rsa = pub(hostKeys.get('rsa')!);
    assert.equal(requestedAlgorithm(rsa, 4), 'rsa-sha2-512');
    assert.equal(requestedAlgorithm(rsa, 2), 'rsa-sha2-256');
    assert.equal(requestedAlgorithm(rsa, 0), null);
    assert.equal(requestedAlgorithm(rsa, 6), null, 'both SHA-2 flags: agents differ, refused');
    assert.equal(requestedAlgorithm(pub(userKey), 0), 'ssh-ed25519');
  });
});

describe('session-bind', () => {
  it('verifies host-key signatures made by a real agent, every key type, RSA with SHA-256 and SHA-512', async () => {
    const sid = Buffer.from('a'.repeat(64), 'hex');
    for (const [kind, k] of hostKeys) {
      for (const flags of kind === 'rsa' ? [2, 4] : [0]) {
        const sig = await agentSign(k, sid, flags);
        const b = parseSessionBind(bindBody(pub(k), sid, sig));
        assert.equal(b.hostKeyFingerprint, k.fingerprint);
        assert.equal(b.forwarding, false);
        verifySessionBind(b);
        // The same signature over another session id, or from another key, fails.
        assert.throws(
          () => verifySessionBind({ ...b, sessionId: Buffer.from('b'.repeat(64), 'hex') }),
          SessionBindError,
        );
        const other = pub(hostKeys.get(kind === 'ed25519' ? 'ecdsa256' : 'ed25519')!);
        assert.throws(() => verifySessionBind({ ...b, hostKey: other }), SessionBindError);
      }
    }
  });

  it('refuses SHA-1 RSA host signatures and malformed messages', async () => {
    const sid = Buffer.alloc(32, 1);
    const rsa = hostKeys.get('rsa')!;
    const sha1 = await agentSign(rsa, sid, 0);
    assert.throws(
      () => verifySessionBind(parseSessionBind(bindBody(pub(rsa), sid, sha1))),
      /ssh-rsa/,
    );
    const good = await agentSign(hostKeys.get('ed25519')!, sid);
    const body = bindBody(pub(hostKeys.get('ed25519')!), sid, good);
    assert.throws(() => parseSessionBind(body.subarray(0, body.length - 1)), SessionBindError);
    assert.throws(
      () => parseSessionBind(Buffer.concat([body, Buffer.from([0])])),
      SessionBindError,
    );
    assert.throws(
      () => parseSessionBind(Buffer.concat([body.subarray(0, -1), byte(2)])),
      /boolean/,
    );
    assert.throws(
      () => parseSessionBind(bindBody(pub(hostKeys.get('ed25519')!), Buffer.alloc(129), good)),
      /session id/,
    );
  });

  it('follows ssh-agent: one authentication binding, forwarded hops before it, 16 at most', async () => {
    const k = pub(hostKeys.get('ed25519')!);
    const mk = (n: number, forwarding: boolean): SessionBind => ({
      hostKey: k,
      hostKeyFingerprint: fingerprint(k.blob),
      sessionId: Buffer.alloc(32, n),
      signature: Buffer.alloc(0),
      forwarding,
    });
    const b = new Bindings();
    b.record(mk(1, true));
    b.record(mk(1, true)); // the same again is fine
    assert.equal(b.forwarded, true);
    b.record(mk(2, false));
    assert.throws(() => b.record(mk(3, false)), /already bound for authentication/);
    assert.equal(b.latest()?.sessionId[0], 2);
    const many = new Bindings();
    for (let i = 0; i < 16; i++) many.record(mk(i + 10, true));
    assert.throws(() => many.record(mk(99, true)), /more than 16/);
  });
});

describe('known_hosts', () => {
  let kh: string;
  let hashed: string;
  before(async () => {
    const ed = hostKeys.get('ed25519')!;
    const rsa = hostKeys.get('rsa')!;
    const ec = hostKeys.get('ecdsa256')!;
    const body = (k: TestKey) => k.line.split(' ').slice(0, 2).join(' ');
    kh = join(dir, 'known_hosts');
    writeFileSync(
      kh,
      [
        '# a comment',
        `github.com,140.82.121.4 ${body(ed)}`,
        `[git.example.test]:2222 ${body(rsa)}`,
        `@revoked evil.example.test ${body(ec)}`,
        'garbage line',
        '',
      ].join('\n'),
    );
    hashed = join(dir, 'known_hosts.hashed');
    // ssh-keygen -H refuses a file with a line it cannot read.
    writeFileSync(hashed, readFileSync(kh, 'utf8').replace('garbage line\n', ''));
    await mustRun('ssh-keygen', ['-q', '-H', '-f', hashed]);
  });

  it('names plain entries, comma lists and [host]:port', () => {
    const text = readFileSync(kh, 'utf8');
    assert.deepEqual(lookupHost(text, pub(hostKeys.get('ed25519')!)), {
      kind: 'known',
      names: ['github.com', '140.82.121.4'],
      via: 'key',
    });
    assert.deepEqual(lookupHost(text, pub(hostKeys.get('rsa')!)), {
      kind: 'known',
      names: ['[git.example.test]:2222'],
      via: 'key',
    });
    assert.deepEqual(lookupHost(text, pub(hostKeys.get('ecdsa256')!)), { kind: 'revoked' });
    assert.deepEqual(lookupHost(text, pub(hostKeys.get('ecdsa384')!)), { kind: 'unknown' });
  });

  it('hashed by ssh-keygen -H: well-known names resolve, others are "hashed"; ssh-keygen -F agrees', async () => {
    const text = readFileSync(hashed, 'utf8');
    assert.ok(!text.includes('github.com'), 'ssh-keygen -H hashed the names');
    const ed = pub(hostKeys.get('ed25519')!);
    assert.deepEqual(lookupHost(text, ed), { kind: 'known', names: ['github.com'], via: 'key' });
    assert.deepEqual(lookupHost(text, pub(hostKeys.get('rsa')!)), { kind: 'hashed' });
    // Differential: ssh-keygen finds the same key under the name we resolved.
    const f = await mustRun('ssh-keygen', ['-F', 'github.com', '-f', hashed]);
    assert.ok(f.includes(ed.blob.toString('base64')), f);
    // Hashed and plain together: the plain name is a candidate for the hashed one.
    const both = `${text}\n[git.example.test]:2222,gitbox ${hostKeys.get('ecdsa384')!.line}\n`;
    assert.deepEqual(lookupHost(both, pub(hostKeys.get('rsa')!)), {
      kind: 'known',
      names: ['[git.example.test]:2222'],
      via: 'key',
    });
  });

  it('@cert-authority: a host certificate signed by that CA is named by its principals', async () => {
    const ca = await makeKey(dir, 'ed25519', 'host-ca');
    const hk = await makeKey(dir, 'ecdsa384', 'certified-host');
    await mustRun('ssh-keygen', [
      '-q',
      '-s',
      ca.priv,
      '-h',
      '-I',
      'host',
      '-n',
      'box.corp.test',
      '-V',
      '-5m:+1h',
      hk.pub,
    ]);
    const cert = parseAuthorizedKey(readFileSync(`${hk.priv}-cert.pub`, 'utf8')).key;
    assert.ok(readHostCertificate(cert));
    const caBody = ca.line.split(' ').slice(0, 2).join(' ');
    assert.deepEqual(lookupHost(`@cert-authority *.corp.test ${caBody}\n`, cert), {
      kind: 'known',
      names: ['box.corp.test'],
      via: 'certificate',
    });
    // A CA line that does not cover the principal, a CA not trusted, a revoked CA.
    assert.deepEqual(lookupHost(`@cert-authority *.other.test ${caBody}\n`, cert), {
      kind: 'unknown',
    });
    assert.deepEqual(lookupHost(`*.corp.test ${caBody}\n`, cert), { kind: 'unknown' });
    assert.deepEqual(lookupHost(`@revoked * ${caBody}\n@cert-authority * ${caBody}\n`, cert), {
      kind: 'revoked',
    });
    // Expired: the CA signed it, but not for now.
    assert.deepEqual(
      lookupHost(`@cert-authority *.corp.test ${caBody}\n`, cert, Date.now() / 1000 + 7200),
      { kind: 'unknown' },
    );
  });
});

describe('describing a login', () => {
  it('names the verified destination only for a host-bound login over the bound session', async () => {
    const hk = hostKeys.get('ed25519')!;
    const sid = Buffer.alloc(32, 9);
    const bind = parseSessionBind(bindBody(pub(hk), sid, await agentSign(hk, sid)));
    const k = pub(userKey);
    const data = userauthData(sid, 'git', 'ssh-ed25519', k.blob, {
      method: 'publickey-hostbound-v00@openssh.com',
      hostKey: pub(hk).blob,
    });
    const auth = parseUserauth(data, k.blob, k.type)!;
    const name = () => ({ kind: 'known' as const, names: ['github.com'], via: 'key' as const });
    // A plain publickey login signs the session id only: whoever holds any host key can
    // bind that session id to it, so its bind names nothing (the forged-destination attack).
    const plain = userauthData(sid, 'git', 'ssh-ed25519', k.blob);
    const forged = describeLogin(plain, parseUserauth(plain, k.blob, k.type)!, {
      bind,
      forwarded: false,
      name,
    });
    assert.match(headline(forged.description), /an unverified host/);
    assert.ok(forged.group.startsWith('ssh:(unverified host) '), forged.group);
    const plain2 = userauthData(Buffer.alloc(32, 8), 'git', 'ssh-ed25519', k.blob);
    assert.notEqual(
      describeLogin(plain2, parseUserauth(plain2, k.blob, k.type)!, {
        bind,
        forwarded: false,
        name,
      }).group,
      forged.group,
      'a grant on one unverified login covers no other',
    );
    const s = describeLogin(data, auth, { bind, forwarded: false, name });
    assert.equal(s.group, 'ssh:github.com');
    assert.equal(
      sshLoginText(s.description as never),
      `SSH login as git to github.com (host key ${hk.fingerprint})`,
    );
    assert.equal(
      headline(s.description),
      `SSH login as git to github.com (host key ${hk.fingerprint})`,
    );
    const lines = requestLines({
      id: 'x',
      client: { id: 'local', name: 'local 127.0.0.1', address: '127.0.0.1' },
      key: { fingerprint: userKey.fingerprint, type: k.type, comment: 'c', label: 'ED25519' },
      namespace: s.group,
      description: s.description,
      receivedAt: 0,
      deadline: 0,
      group: 'g',
    });
    assert.ok(lines.some((l) => l.label === 'Host' && l.value === 'github.com'));
    assert.ok(lines.some((l) => l.label === 'Host key' && l.value === hk.fingerprint));
    // Another session id: the binding says nothing about it.
    const other = userauthData(Buffer.alloc(32, 1), 'git', 'ssh-ed25519', k.blob);
    const u = describeLogin(other, parseUserauth(other, k.blob, k.type)!, {
      bind,
      forwarded: false,
      name,
    });
    assert.ok(u.group.startsWith('ssh:(unverified host) '), u.group);
    assert.match(headline(u.description), /an unverified host/);
    // A hostbound login naming another host key than the bound one is refused.
    const lying = userauthData(sid, 'git', 'ssh-ed25519', k.blob, {
      method: 'publickey-hostbound-v00@openssh.com',
      hostKey: pub(hostKeys.get('rsa')!).blob,
    });
    assert.throws(
      () =>
        describeLogin(lying, parseUserauth(lying, k.blob, k.type)!, {
          bind,
          forwarded: false,
          name,
        }),
      LoginRefused,
    );
    // A revoked host key is refused outright.
    assert.throws(
      () =>
        describeLogin(data, auth, { bind, forwarded: false, name: () => ({ kind: 'revoked' }) }),
      /revoked/,
    );
    // A hostile user name is shown clean.
    const evil = userauthData(sid, 'git\u001b[2J\u202e', 'ssh-ed25519', k.blob);
    const e = describeLogin(evil, parseUserauth(evil, k.blob, k.type)!, {
      bind,
      forwarded: false,
      name,
    });
    assert.ok(
      !/[\u202e]/.test(headline(e.description)) && !headline(e.description).includes('\u001b'),
    );
  });

  it('anything else is data: size and hash', () => {
    const s = describeData(Buffer.from('hello'));
    assert.ok(
      s.group.startsWith('ssh-agent:data '),
      'a grant on these bytes covers only these bytes',
    );
    assert.equal(headline(s.description), 'Sign 5 bytes of text');
  });
});
