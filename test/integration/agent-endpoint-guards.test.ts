// The agent endpoint's guards, each attacked on its own (#20 items 13, 15, 18, 19, 20): a
// test here fails when the guard it names is dropped or loosened. Real ssh-agent behind a
// relay that counts what reaches it; the lying agent only where a real one cannot lie.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { withAgent } from '../../src/core/agent/agent-client.js';
import { parseAuthorizedKey } from '../../src/core/ssh/keys.js';
import { byte, string } from '../../src/core/ssh/wire.js';
import { upgradeAgent } from '../helpers/agent-bridge.js';
import { exchange, EXTENSION, sessionBind, signRequest } from '../helpers/agent-messages.js';
import { SIGN_REQUEST } from '../helpers/fixtures.js';
import { startLyingAgent } from '../helpers/lying-agent.js';
import { makeKey, startAgent, tempDir, type Agent, type TestKey } from '../helpers/openssh.js';
import { startAuditedProxy } from '../helpers/audited-proxy.js';
import { startRecordingRelay, type RecordingRelay } from '../helpers/recording-relay.js';

const TIMEOUTS = { connectMs: 5_000, listMs: 10_000, signMs: 10_000 };

let dir: string;
let agent: Agent;
let user: TestKey;
let hostA: TestKey;
let hostB: TestKey;
let relay: RecordingRelay;

before(async () => {
  dir = tempDir();
  agent = await startAgent(dir);
  user = await makeKey(dir, 'ed25519', 'user');
  // Two host keys of the same type and size: only their bytes tell them apart.
  hostA = await makeKey(dir, 'ed25519', 'host-a');
  hostB = await makeKey(dir, 'ed25519', 'host-b');
  for (const k of [user, hostA, hostB]) await agent.add(k);
  relay = await startRecordingRelay(dir, agent.sock);
});

const blobOf = (k: TestKey | string) =>
  parseAuthorizedKey(typeof k === 'string' ? k : k.line).key.blob;

const proxyWith = (env: Record<string, string>) =>
  startAuditedProxy({ SSH_AGENT_PROXY_UPSTREAM: relay.sock, ...env });

function hostboundLogin(sid: Buffer, userKey: TestKey, hostKey: TestKey): Buffer {
  return Buffer.concat([
    string(sid),
    byte(50),
    string('git'),
    string('ssh-connection'),
    string('publickey-hostbound-v00@openssh.com'),
    byte(1),
    string('ssh-ed25519'),
    string(blobOf(userKey)),
    string(blobOf(hostKey)),
  ]);
}

/** session-bind@openssh.com for `host` over `sid`, signed by the real agent holding the host key. */
async function bindFor(host: TestKey, sid: Buffer, forwarded: boolean): Promise<Buffer> {
  const sig = await withAgent(agent.sock, TIMEOUTS, (c) => c.sign(blobOf(host), sid, 0));
  return sessionBind(blobOf(host), sid, sig, forwarded);
}

const SSHSIG_DATA = Buffer.concat([Buffer.from('SSHSIG'), string('git'), string(''), string('')]);

describe('agent endpoint guards', () => {
  it('#20.15 a host-bound login naming another host key of the same type and size than the bound one is refused', async () => {
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
    const up = await upgradeAgent(`${p.url}/agent`);
    const sid = Buffer.alloc(32, 9);
    assert.equal((await exchange(up.socket, await bindFor(hostA, sid, false)))[0], 6);
    const signs = relay.count(SIGN_REQUEST);
    const forged = hostboundLogin(sid, user, hostB);
    assert.deepEqual([...(await exchange(up.socket, signRequest(blobOf(user), forged)))], [5]);
    assert.equal(relay.count(SIGN_REQUEST), signs, 'nothing reached the agent');
    assert.equal(p.audit.at(-1)?.outcome, 'host-key-mismatch');
    // The true host key signs (the refusal was about the key, not the form).
    const honest = hostboundLogin(sid, user, hostA);
    assert.equal((await exchange(up.socket, signRequest(blobOf(user), honest)))[0], 14);
    up.socket.destroy();
  });

  it('#20.18 SSHSIG data is refused from an anonymous loopback client and on the local socket', async () => {
    const sockDir = join(tempDir(), 'agent-dir');
    const p = await proxyWith({
      SSH_AGENT_PROXY_APPROVAL: 'allow',
      SSH_AGENT_PROXY_AGENT_SOCKET: join(sockDir, 'agent.sock'),
    });
    const signs = relay.count(SIGN_REQUEST);
    const up = await upgradeAgent(`${p.url}/agent`);
    assert.deepEqual([...(await exchange(up.socket, signRequest(blobOf(user), SSHSIG_DATA)))], [5]);
    assert.equal(p.audit.at(-1)?.outcome, 'use-sign-endpoint');
    up.socket.destroy();
    if (process.platform !== 'win32') {
      const local = connect(join(sockDir, 'agent.sock'));
      await new Promise((r) => local.once('connect', r));
      assert.deepEqual([...(await exchange(local, signRequest(blobOf(user), SSHSIG_DATA)))], [5]);
      assert.equal(p.audit.at(-1)?.outcome, 'use-sign-endpoint');
      local.destroy();
    }
    assert.equal(relay.count(SIGN_REQUEST), signs, 'nothing reached the agent');
  });

  for (const lie of ['wrong-key-signature', 'rsa-sha1'] as const) {
    it(`#20.19 a lying agent (${lie}) behind /agent: its signature is refused, never passed on`, async () => {
      const liar = await startLyingAgent(tempDir(), ['ed25519', 'rsa']);
      liar.lie = lie;
      const p = await proxyWith({
        SSH_AGENT_PROXY_APPROVAL: 'allow',
        SSH_AGENT_PROXY_UPSTREAM: liar.sock,
      });
      const up = await upgradeAgent(`${p.url}/agent`);
      const [blob, flags] =
        lie === 'rsa-sha1' ? [blobOf(liar.rsaLine), 4] : [blobOf(liar.ed25519Line), 0];
      const answer = await exchange(up.socket, signRequest(blob, Buffer.from('data'), flags));
      assert.deepEqual([...answer], [5]);
      assert.equal(p.audit.at(-1)?.outcome, 'bad-signature');
      assert.ok(liar.received.includes(SIGN_REQUEST), 'the agent was asked (and lied)');
      up.socket.destroy();
    });
  }

  it('#20.20 the endpoint has a rate limit: past the burst, a sign request is refused before the agent', async () => {
    const p = await proxyWith({
      SSH_AGENT_PROXY_APPROVAL: 'allow',
      SSH_AGENT_PROXY_RATE_LIMIT: '1',
      SSH_AGENT_PROXY_RATE_BURST: '1',
    });
    const up = await upgradeAgent(`${p.url}/agent`);
    assert.equal((await exchange(up.socket, signRequest(blobOf(user), Buffer.from('one'))))[0], 14);
    const signs = relay.count(SIGN_REQUEST);
    // The next token is a minute away, past the longest wait: refused at once.
    assert.deepEqual(
      [...(await exchange(up.socket, signRequest(blobOf(user), Buffer.from('two'))))],
      [5],
    );
    assert.equal(p.audit.at(-1)?.outcome, 'rate-limited');
    assert.equal(relay.count(SIGN_REQUEST), signs);
    up.socket.destroy();
  });

  it('#20.20 a forwarded session-bind is never relayed upstream', async () => {
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
    const up = await upgradeAgent(`${p.url}/agent`);
    const extensions = relay.count(EXTENSION);
    const bind = await bindFor(hostA, Buffer.alloc(32, 4), true);
    assert.deepEqual([...(await exchange(up.socket, bind))], [28], 'EXTENSION_FAILURE');
    assert.equal(relay.count(EXTENSION), extensions, 'the bind never reached the agent');
    // An unforwarded one is relayed (the counter does count binds).
    const plain = await bindFor(hostA, Buffer.alloc(32, 5), false);
    const up2 = await upgradeAgent(`${p.url}/agent`);
    assert.equal((await exchange(up2.socket, plain))[0], 6);
    assert.equal(relay.count(EXTENSION), extensions + 1);
    up.socket.destroy();
    up2.socket.destroy();
  });

  it('#20.13 a token revoked and re-created under the same name: its open connection does not ride the new one', async () => {
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
    const old = p.proxy.tokens.create('box');
    const up = await upgradeAgent(`${p.url}/agent`, { Authorization: `Bearer ${old}` });
    assert.equal((await exchange(up.socket, signRequest(blobOf(user), Buffer.from('a'))))[0], 14);
    assert.ok(p.proxy.revokeToken('box'));
    const fresh = p.proxy.tokens.create('box');
    const signs = relay.count(SIGN_REQUEST);
    // Refused, or the connection already ended: either way nothing is signed.
    const answer = await exchange(up.socket, signRequest(blobOf(user), Buffer.from('b'))).catch(
      () => null,
    );
    if (answer) assert.deepEqual([...answer], [5]);
    assert.equal(relay.count(SIGN_REQUEST), signs);
    up.socket.destroy();
    // The new token itself works.
    const again = await upgradeAgent(`${p.url}/agent`, { Authorization: `Bearer ${fresh}` });
    assert.equal(
      (await exchange(again.socket, signRequest(blobOf(user), Buffer.from('c'))))[0],
      14,
    );
    again.socket.destroy();
  });
});
