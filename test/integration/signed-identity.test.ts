// What a grant covers and which key a fingerprint names (#20 items 9 and 10), against a
// real ssh-agent behind a relay that counts the SIGN_REQUESTs reaching it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, it } from 'node:test';
import {
  DATA_GROUP,
  describeData,
  describeLogin,
  UNVERIFIED_GROUP,
} from '../../src/core/agent-endpoint/describe-login.js';
import { parseUserauth } from '../../src/core/agent-endpoint/userauth.js';
import { withAgent } from '../../src/core/agent/agent-client.js';
import {
  fingerprint,
  isCanonicalBlob,
  parseAuthorizedKey,
  parseKeyBlob,
} from '../../src/core/ssh/keys.js';
import { checkSignature, signFlags } from '../../src/core/ssh/signature-check.js';
import { byte, string } from '../../src/core/ssh/wire.js';
import { upgradeAgent } from '../helpers/agent-bridge.js';
import { exchange, sessionBind, signRequest } from '../helpers/agent-messages.js';
import { commitObject, SIGN_REQUEST } from '../helpers/fixtures.js';
import { makeKey, startAgent, tempDir, type Agent, type TestKey } from '../helpers/openssh.js';
import { http } from '../helpers/proxy.js';
import { answerEach, startAuditedProxy } from '../helpers/audited-proxy.js';
import { startRecordingRelay, type RecordingRelay } from '../helpers/recording-relay.js';

let agent: Agent;
let rsa: TestKey;
let ed: TestKey;
let relay: RecordingRelay;

before(async () => {
  const dir = tempDir();
  agent = await startAgent(dir);
  rsa = await makeKey(dir, 'rsa', 'user-rsa');
  ed = await makeKey(dir, 'ed25519', 'user-ed');
  await agent.add(rsa);
  await agent.add(ed);
  relay = await startRecordingRelay(dir, agent.sock);
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const blobOf = (k: TestKey) => parseAuthorizedKey(k.line).key.blob;

/** The user's RSA key under another encoding: `pad` extra zero bytes before e and n. */
function reencodedRsa(k: TestKey, pad = 1): Buffer {
  const key = parseAuthorizedKey(k.line).key;
  if (key.signing?.kind !== 'rsa') throw new Error('not RSA');
  const mp = (m: Buffer) => string(Buffer.concat([Buffer.alloc(pad + (m[0]! & 0x80 ? 1 : 0)), m]));
  return Buffer.concat([string('ssh-rsa'), mp(key.signing.e), mp(key.signing.n)]);
}

const proxyWith = (env: Record<string, string>) =>
  startAuditedProxy({ SSH_AGENT_PROXY_UPSTREAM: relay.sock, ...env });

describe('a grant covers exactly what it was given on (#20.9)', () => {
  it('opaque data and unbound logins are scoped by the whole SHA-256, not a prefix', () => {
    // A 64-bit prefix collides in minutes on one core; no such pair can be found here, so
    // this proves the property that rules it out: the scope holds every digit of the digest.
    const data = Buffer.from('benign note');
    assert.equal(describeData(data).group, `${DATA_GROUP} ${sha256(data)}`);
    const blob = blobOf(ed);
    const login = Buffer.concat([
      string(Buffer.alloc(32, 7)),
      byte(50),
      string('git'),
      string('ssh-connection'),
      string('publickey'),
      byte(1),
      string('ssh-ed25519'),
      string(blob),
    ]);
    const u = describeLogin(login, parseUserauth(login, blob, 'ssh-ed25519')!, {
      bind: null,
      forwarded: false,
      name: () => ({ kind: 'unknown' }),
    });
    assert.equal(u.group, `${UNVERIFIED_GROUP} ${sha256(login)}`);
  });

  it('on /agent, a grant given on data A covers A again, never data B', async () => {
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'prompt' });
    const seen = answerEach(p, 'allow-for-grant');
    const up = await upgradeAgent(`${p.url}/agent`);
    const a = Buffer.from('benign note 1');
    const b = Buffer.from('SIGN THIS INSTEAD');
    assert.equal((await exchange(up.socket, signRequest(blobOf(ed), a)))[0], 14);
    assert.equal(seen.length, 1);
    assert.equal((await exchange(up.socket, signRequest(blobOf(ed), a)))[0], 14);
    assert.equal(seen.length, 1, 'the grant covers the same bytes');
    assert.equal((await exchange(up.socket, signRequest(blobOf(ed), b)))[0], 14);
    assert.equal(seen.length, 2, 'other bytes are asked about');
    up.socket.destroy();
  });
});

describe('a fingerprint always names the key that signs (#20.10)', () => {
  it('every key ssh-keygen makes is in canonical form; a re-encoded one is not', async () => {
    const dir = tempDir();
    for (const kind of ['ed25519', 'rsa', 'ecdsa256', 'ecdsa384', 'ecdsa521'] as const) {
      const k = await makeKey(dir, kind);
      assert.ok(isCanonicalBlob(parseAuthorizedKey(k.line).key), kind);
    }
    assert.ok(!isCanonicalBlob(parseKeyBlob(reencodedRsa(rsa))));
  });

  it('premise: the real agent signs with the user’s key under a re-encoded RSA blob', async (t) => {
    const fake = reencodedRsa(rsa);
    assert.notEqual(fingerprint(fake), rsa.fingerprint);
    const data = Buffer.from('x');
    const key = parseAuthorizedKey(rsa.line).key;
    let sig: Buffer;
    try {
      sig = await withAgent(agent.sock, { connectMs: 5_000, listMs: 10_000, signMs: 10_000 }, (c) =>
        c.sign(fake, data, signFlags(key)),
      );
    } catch {
      return t.skip('this ssh-agent refuses the re-encoded blob itself');
    }
    checkSignature(key, data, sig); // the user's own key signed
  });

  for (const pad of [1, 3]) {
    it(`/agent: a re-encoded RSA blob (${pad} extra zero bytes) gets SSH_AGENT_FAILURE, no prompt, no SIGN_REQUEST, no false fingerprint`, async () => {
      for (const approval of ['prompt', 'allow'] as const) {
        const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: approval });
        const seen = answerEach(p, 'allow-once');
        const up = await upgradeAgent(`${p.url}/agent`);
        const fake = reencodedRsa(rsa, pad);
        const signs = relay.count(SIGN_REQUEST);
        const answer = await exchange(up.socket, signRequest(fake, Buffer.from('data'), 4));
        assert.deepEqual([...answer], [5], approval);
        assert.equal(relay.count(SIGN_REQUEST), signs, `${approval}: nothing reached the agent`);
        assert.equal(seen.length, 0, `${approval}: nobody was asked`);
        const shown = JSON.stringify([p.audit, seen]);
        assert.ok(!shown.includes(fingerprint(fake)), `${approval}: the false fingerprint`);
        // The canonical blob of the same key still signs on this connection.
        const ok = await exchange(up.socket, signRequest(blobOf(rsa), Buffer.from('data'), 4));
        assert.equal(ok[0], 14, approval);
        up.socket.destroy();
      }
    });
  }

  it('/agent: a session-bind naming a re-encoded RSA host key is refused and never relayed', async () => {
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
    const up = await upgradeAgent(`${p.url}/agent`);
    const sid = Buffer.alloc(32, 6);
    const key = parseAuthorizedKey(rsa.line).key;
    // The host key's real signature over the session id (rsa-sha2-512).
    const sig = await withAgent(
      agent.sock,
      { connectMs: 5_000, listMs: 10_000, signMs: 10_000 },
      (c) => c.sign(key.blob, sid, 4),
    );
    const bind = (hostKey: Buffer) => sessionBind(hostKey, sid, sig);
    const binds = relay.count(27);
    assert.deepEqual([...(await exchange(up.socket, bind(reencodedRsa(rsa))))], [28]);
    assert.equal(relay.count(27), binds, 'not relayed');
    // A forged bind ends its connection; on a new one the same bind with the key as
    // OpenSSH writes it is accepted and relayed.
    up.socket.destroy();
    const again = await upgradeAgent(`${p.url}/agent`);
    assert.equal((await exchange(again.socket, bind(key.blob)))[0], 6);
    assert.equal(relay.count(27), binds + 1);
    again.socket.destroy();
  });

  it('/sign: a key named in full under a re-encoded blob is 400 bad-key, under allow and under a grant', async () => {
    const fakeLine = `ssh-rsa ${reencodedRsa(rsa).toString('base64')} user-rsa@test`;
    const fakeFp = fingerprint(reencodedRsa(rsa));
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
    const signs = relay.count(SIGN_REQUEST);
    const r = await http(`${p.url}/sign?key=${encodeURIComponent(fakeLine)}`, {
      method: 'POST',
      body: commitObject('re-encoded'),
    });
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /^bad-key: /);
    assert.equal(relay.count(SIGN_REQUEST), signs);
    assert.ok(!JSON.stringify(p.audit).includes(fakeFp));
    // Under a grant (the other no-prompt path): given on the real key, then asked with the fake.
    const g = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'prompt' });
    const seen = answerEach(g, 'allow-for-grant');
    const real = await http(`${g.url}/sign?key=${encodeURIComponent(rsa.line)}`, {
      method: 'POST',
      body: commitObject('real'),
    });
    assert.equal(real.status, 200, real.text);
    const before = relay.count(SIGN_REQUEST);
    const fake = await http(`${g.url}/sign`, {
      method: 'POST',
      body: commitObject('fake'),
      headers: { 'X-SSH-Agent-Proxy-Key': fakeLine },
    });
    assert.equal(fake.status, 400, fake.text);
    assert.equal(relay.count(SIGN_REQUEST), before);
    assert.equal(seen.length, 1);
    assert.ok(!JSON.stringify([g.audit, seen]).includes(fakeFp));
  });
});
