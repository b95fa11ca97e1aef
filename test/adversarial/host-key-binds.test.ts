// session-bind@openssh.com from a hostile sandbox: host keys chosen to cost the proxy's one
// thread (a huge RSA exponent), to forge a binding (a small-order Ed25519 key), or to be
// larger than OpenSSH allows (over 16,384 bits); binds repeated to drain the proxy's time; and
// connections kept open by a token that is then revoked or expires. A real ssh-agent behind
// a recording relay shows what reached it; a bind that reaches it was accepted.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { before, describe, it } from 'node:test';
import { withAgent } from '../../src/core/agent/agent-client.js';
import type { Clock } from '../../src/core/clock.js';
import { TokenStore } from '../../src/core/approval/token-store.js';
import { parseAuthorizedKey } from '../../src/core/ssh/keys.js';
import { byte, string, uint32 } from '../../src/core/ssh/wire.js';
import type { Logger } from '../../src/core/logger.js';
import { upgradeAgent } from '../helpers/agent-bridge.js';
import { makeKey, startAgent, tempDir, type TestKey } from '../helpers/openssh.js';
import { startTestProxy } from '../helpers/proxy.js';
import { startRecordingRelay, type RecordingRelay } from '../helpers/recording-relay.js';

const EXTENSION = 27;
const SESSION_BIND = 'session-bind@openssh.com';

let relay: RecordingRelay;
let hostKey: TestKey;
let agentSock: string;

before(async () => {
  const dir = tempDir();
  const agent = await startAgent(dir);
  // The agent holds a host key too: its signatures over session ids are an sshd's.
  hostKey = await makeKey(dir, 'ed25519', 'host');
  await agent.add(hostKey);
  agentSock = agent.sock;
  relay = await startRecordingRelay(dir, agent.sock);
});

/** Time that stands still unless moved: no bucket refills behind the test's back. */
const stillClock = (): Clock => {
  const t = Date.now();
  return { now: () => t, setTimer: () => () => {} };
};

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const put = (s: string) => void lines.push(s);
  return { lines, debug: put, info: put, warn: put, error: put };
}

async function gate(clock?: Clock) {
  const log = recordingLog();
  const tp = await startTestProxy(
    { SSH_AGENT_PROXY_UPSTREAM: relay.sock, SSH_AGENT_PROXY_APPROVAL: 'prompt' },
    log,
    clock ? { clock } : {},
  );
  return { ...tp, log };
}

const mpint = (v: Buffer) => string(v[0]! & 0x80 ? Buffer.concat([Buffer.alloc(1), v]) : v);
const rsaBlob = (e: Buffer, n: Buffer) => Buffer.concat([string('ssh-rsa'), mpint(e), mpint(n)]);
const ed25519Blob = (pk: Buffer) => Buffer.concat([string('ssh-ed25519'), string(pk)]);
const sigBlob = (alg: string, sig: Buffer) => Buffer.concat([string(alg), string(sig)]);

function bindMessage(hostBlob: Buffer, sid: Buffer, sig: Buffer, fwd = 0): Buffer {
  const body = Buffer.concat([
    byte(EXTENSION),
    string(SESSION_BIND),
    string(hostBlob),
    string(sid),
    string(sig),
    byte(fwd),
  ]);
  return Buffer.concat([uint32(body.length), body]);
}

/** An odd number of exactly `bits` bits. */
function oddOfBits(bits: number): Buffer {
  const b = randomBytes(Math.ceil(bits / 8));
  const top = bits % 8 || 8;
  b[0] = (b[0]! & ((1 << top) - 1)) | (1 << (top - 1));
  b[b.length - 1]! |= 1;
  return b;
}

/** The answer to one message, or null when the connection ends instead. */
function ask(sock: Socket, msg: Buffer): Promise<Buffer | null> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        sock.off('data', onData);
        resolve(buf.subarray(4, 4 + buf.readUInt32BE(0)));
      }
    };
    sock.on('data', onData);
    sock.once('close', () => resolve(null));
    sock.resume();
    if (!sock.destroyed) sock.write(msg);
  });
}

function closed(sock: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (sock.destroyed) return resolve();
    sock.resume();
    sock.once('close', () => resolve());
  });
}

const QUERY = (() => {
  const body = Buffer.concat([byte(EXTENSION), string('query')]);
  return Buffer.concat([uint32(body.length), body]);
})();

async function open(url: string, token?: string): Promise<Socket> {
  const up = await upgradeAgent(`${url}/agent`, token ? { Authorization: `Bearer ${token}` } : {});
  assert.equal(up.status, 101);
  return up.socket;
}

/** A valid bind: the real agent signs the session id with the host key. */
async function validBind(sid = randomBytes(32)): Promise<Buffer> {
  const key = parseAuthorizedKey(hostKey.line).key;
  const sig = await withAgent(
    agentSock,
    { connectMs: 5_000, listMs: 10_000, signMs: 10_000 },
    (c) => c.sign(key.blob, sid, 0),
  );
  return bindMessage(key.blob, sid, sig);
}

/** Refused (EXTENSION_FAILURE 28), and the connection then ends; nothing reached the agent. */
async function refusedAndEnded(sock: Socket, msg: Buffer): Promise<void> {
  const binds = relay.count(EXTENSION);
  assert.deepEqual([...((await ask(sock, msg)) ?? [])], [28]);
  assert.equal(await ask(sock, QUERY), null, 'the connection ended after the refused bind');
  await closed(sock);
  assert.equal(relay.count(EXTENSION), binds, 'no bind reached the agent');
}

describe('session-bind host keys are bounded before they are checked', () => {
  it('a verified bind is relayed, and the connection goes on (the baseline)', async () => {
    const g = await gate();
    const sock = await open(g.url);
    const binds = relay.count(EXTENSION);
    assert.deepEqual([...((await ask(sock, await validBind())) ?? [])], [6]);
    assert.equal(relay.count(EXTENSION), binds + 1);
    assert.notEqual(await ask(sock, QUERY), null, 'still open');
    sock.destroy();
  });

  it('a small-order Ed25519 host key with a forged signature is refused, never bound', async () => {
    const g = await gate();
    // The identity point as the host key; R = identity, S = 0 satisfies [S]B = R + [k]A.
    const identity = Buffer.alloc(32);
    identity[0] = 1;
    const forged = Buffer.concat([identity, Buffer.alloc(32)]);
    const sock = await open(g.url);
    await refusedAndEnded(
      sock,
      bindMessage(ed25519Blob(identity), randomBytes(32), sigBlob('ssh-ed25519', forged)),
    );
    assert.ok(
      g.log.lines.some((l) => /session-bind .* refused: Ed25519 host key of small order/.test(l)),
      g.log.lines.join('\n'),
    );
  });

  it('an RSA host key with a 3,064-bit exponent is refused unchecked', async () => {
    const g = await gate();
    const sock = await open(g.url);
    await refusedAndEnded(
      sock,
      bindMessage(
        rsaBlob(oddOfBits(3064), oddOfBits(3072)),
        randomBytes(32),
        sigBlob('rsa-sha2-512', randomBytes(384)),
      ),
    );
    assert.ok(
      g.log.lines.some((l) => /refused: RSA host key exponent of 3064 bits/.test(l)),
      g.log.lines.join('\n'),
    );
  });

  it('an RSA host key over 16,384 bits is refused unchecked (OpenSSH and OpenSSL: at most 16,384)', async () => {
    const g = await gate();
    const sock = await open(g.url);
    await refusedAndEnded(
      sock,
      bindMessage(
        rsaBlob(Buffer.from([1, 0, 1]), oddOfBits(16392)),
        randomBytes(32),
        sigBlob('rsa-sha2-512', randomBytes(2049)),
      ),
    );
    assert.ok(
      g.log.lines.some((l) => /refused: RSA host key of 16392 bits/.test(l)),
      g.log.lines.join('\n'),
    );
  });

  it('a bind whose signature fails ends the connection', async () => {
    const g = await gate();
    const sock = await open(g.url);
    const key = parseAuthorizedKey(hostKey.line).key;
    await refusedAndEnded(
      sock,
      bindMessage(key.blob, randomBytes(32), sigBlob('ssh-ed25519', randomBytes(64))),
    );
  });

  it('a git-only token binds nothing: its connection ends at its first bind', async () => {
    const g = await gate();
    const token = g.proxy.tokens.create('git-box', { gitOnly: true });
    await refusedAndEnded(await open(g.url, token), await validBind());
  });

  it("one client's binds spend its own verification budget; another client's are still checked", async () => {
    const g = await gate(stillClock());
    const hog = g.proxy.tokens.create('hog');
    const other = g.proxy.tokens.create('other');
    // 16,384-bit moduli (the most OpenSSH allows) with garbage signatures: 64 units each,
    // so four empty a bucket of 256; time stands still, so nothing refills.
    const costly = () =>
      bindMessage(
        rsaBlob(Buffer.from([1, 0, 1]), oddOfBits(16384)),
        randomBytes(32),
        sigBlob('rsa-sha2-512', randomBytes(2048)),
      );
    for (let i = 0; i < 4; i++) await refusedAndEnded(await open(g.url, hog), costly());
    const checked = g.log.lines.filter((l) => /host key signature refused/.test(l)).length;
    assert.equal(checked, 4, 'the first four were checked');
    await refusedAndEnded(await open(g.url, hog), costly());
    assert.ok(
      g.log.lines.some((l) => /"?hog"? refused: this client has spent its host-key checks/.test(l)),
      g.log.lines.join('\n'),
    );
    assert.equal(
      g.log.lines.filter((l) => /host key signature refused/.test(l)).length,
      4,
      'the fifth was not checked',
    );
    // Another token's bind is checked, and a real one binds.
    const sock = await open(g.url, other);
    assert.deepEqual([...((await ask(sock, await validBind())) ?? [])], [6]);
    sock.destroy();
  });
});

describe("a token's agent connections end with it", () => {
  it(
    'revoked by another process: its open /agent connections close, others stay',
    { timeout: 20_000 },
    async () => {
      const g = await gate();
      const doomed = g.proxy.tokens.create('doomed');
      const kept = g.proxy.tokens.create('kept');
      const a = await open(g.url, doomed);
      const b = await open(g.url, doomed);
      const c = await open(g.url, kept);
      assert.equal(new TokenStore(g.configDir).revoke('doomed'), true);
      // Noticed by the proxy's poll of the token file, with nothing sent on the connections.
      await Promise.all([closed(a), closed(b)]);
      assert.notEqual(await ask(c, QUERY), null, "the other token's connection is open");
      c.destroy();
    },
  );

  it('expired: its open /agent connection closes', { timeout: 20_000 }, async () => {
    const g = await gate();
    const brief = g.proxy.tokens.create('brief', { expiresInMs: 1_000 });
    const sock = await open(g.url, brief);
    assert.notEqual(await ask(sock, QUERY), null);
    await closed(sock);
    assert.ok(
      g.log.lines.some((l) => /token "brief" is expired/.test(l)),
      g.log.lines.join('\n'),
    );
  });
});
