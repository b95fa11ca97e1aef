// Kept agent connections (agent-pool.ts): one connection carries request after request,
// and keeping it changes nothing the agent decides. Each guard is attacked: an agent that
// closes idle clients, one restarted on the same path with other keys, one that talks out
// of turn, one that lies, one that hangs; and kept connections never hold a process open.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Identity } from '../../src/core/agent/agent-client.js';
import { AgentPool } from '../../src/core/agent/agent-pool.js';
import { AgentSigner } from '../../src/core/agent/agent-signer.js';
import { ProxyError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { startLyingAgent } from '../helpers/lying-agent.js';
import {
  keygenVerify,
  makeKey,
  onCleanup,
  startAgent,
  tempDir,
  waitFor,
  type Agent,
  type TestKey,
} from '../helpers/openssh.js';
import { needsLinux, needsPrivateAgent } from '../helpers/platform.js';
import { connect, createServer, type Socket } from 'node:net';
import { startRecordingRelay } from '../helpers/recording-relay.js';
import { ROOT } from '../helpers/proxy.js';

const SIGN_REQUEST = 13;
const timeouts = { connectMs: 2_000, listMs: 2_000, signMs: 2_000 };

let dir: string;
let agent: Agent;
let key: TestKey;

before(async () => {
  dir = tempDir();
  agent = await startAgent(dir);
  key = await makeKey(dir, 'ed25519');
  await agent.add(key);
});

/** A private agent of its own at `sockName` in `dir`, holding one new Ed25519 key. */
async function agentHolding(dir: string, sockName: string, keyName: string) {
  const a = await startAgent(dir, sockName);
  const k = await makeKey(dir, 'ed25519', keyName);
  await a.add(k);
  return [a, k] as const;
}

function signerOn(path: string, opts: { signMs?: number } = {}) {
  const signer = new AgentSigner({
    upstream: () => path,
    timeouts: { ...timeouts, signMs: opts.signMs ?? timeouts.signMs },
    log: silentLogger,
  });
  return signer;
}

async function firstKey(signer: AgentSigner): Promise<Identity> {
  const [id] = await signer.listKeys();
  assert.ok(id, 'the agent holds a key');
  return id;
}

async function assertVerifies(armored: string, message: string, k: TestKey = key) {
  const base = join(dir, `pool-${Math.random().toString(36).slice(2)}`);
  writeFileSync(`${base}.sig`, armored);
  writeFileSync(`${base}.allowed`, `signer ${k.line}\n`);
  const v = await keygenVerify(`${base}.allowed`, 'signer', `${base}.sig`, message);
  assert.equal(v.code, 0, v.stderr);
}

describe('kept agent connections', () => {
  it('one connection carries every request in turn; each signature still verifies', async () => {
    const relay = await startRecordingRelay(dir, agent.sock);
    const signer = signerOn(relay.sock);
    const id = await firstKey(signer);
    for (let i = 0; i < 5; i++)
      await assertVerifies(await signer.sign(id, 'git', Buffer.from(`m${i}`)), `m${i}`);
    assert.equal(relay.count(SIGN_REQUEST), 5);
    assert.equal(relay.accepted, 1, 'one connection for one list and five signs');
    signer.close();
    await relay.allClosed();
  });

  it('concurrent requests each get their own connection; at most maxIdle are kept', async () => {
    const relay = await startRecordingRelay(dir, agent.sock);
    const pool = new AgentPool({ timeouts, maxIdle: 2, idleMs: 60_000, maxAgeMs: 60_000 });
    // Eight requests in flight at once: none may share a connection (one request at a time).
    const lists = await Promise.all(
      Array.from({ length: 8 }, () => pool.use(relay.sock, (c) => c.listIdentities())),
    );
    for (const l of lists) assert.equal(l.length, 1);
    assert.equal(relay.accepted, 8);
    await waitFor(() => relay.open.size === 2, 5_000, 'the connections beyond maxIdle to close');
    assert.equal(pool.size, 2);
    pool.close();
    await relay.allClosed();
    assert.equal(pool.size, 0);
  });

  it('an agent that closed a kept connection: the request reaches it once, on a fresh one', async () => {
    const relay = await startRecordingRelay(dir, agent.sock);
    const signer = signerOn(relay.sock);
    const id = await firstKey(signer);
    // Closed and used in the same turn: the proxy has not yet seen the close.
    relay.dropAll();
    await assertVerifies(await signer.sign(id, 'git', Buffer.from('after-drop')), 'after-drop');
    assert.equal(relay.count(SIGN_REQUEST), 1, 'the agent saw the request once');
    assert.equal(relay.accepted, 2);
    // Closed, and the close noticed before the next request.
    relay.dropAll();
    await waitFor(() => relay.open.size === 0, 5_000, 'the drop');
    await assertVerifies(await signer.sign(id, 'git', Buffer.from('after-2')), 'after-2');
    assert.equal(relay.count(SIGN_REQUEST), 2);
    assert.equal(relay.accepted, 3);
    // Closed with the request written but still unread (the write happens in the same
    // turn as the call): a reset, and the request reaches the agent once, on a fresh one.
    const pending = signer.sign(id, 'git', Buffer.from('unread'));
    relay.dropAll();
    await assertVerifies(await pending, 'unread');
    assert.equal(relay.count(SIGN_REQUEST), 3, 'the agent saw the request once');
    assert.equal(relay.accepted, 4);
    signer.close();
  });

  it(
    'an agent restarted on the same path with other keys: the very next request sees them',
    { skip: needsPrivateAgent },
    async () => {
      const own = tempDir();
      const [first, k1] = await agentHolding(own, 'restart.sock', 'first');
      const signer = signerOn(first.sock);
      assert.equal((await firstKey(signer)).fingerprint, k1.fingerprint);
      first.stop();
      await waitFor(() => !existsSync(first.sock), 5_000, 'the agent to go');
      const [second, k2] = await agentHolding(own, 'restart.sock', 'second');
      const id = await firstKey(signer);
      assert.equal(id.fingerprint, k2.fingerprint, 'the new agent answered, not a kept socket');
      await assertVerifies(await signer.sign(id, 'git', Buffer.from('rotated')), 'rotated', k2);
      signer.close();
      second.stop();
    },
  );

  it(
    'a key removed from the agent is refused on the next request, on the same connection',
    { skip: needsPrivateAgent },
    async () => {
      const own = tempDir();
      const [a, k] = await agentHolding(own, 'removal.sock', 'removable');
      const relay = await startRecordingRelay(own, a.sock);
      const signer = signerOn(relay.sock);
      const id = await firstKey(signer);
      await a.remove(k);
      await assert.rejects(signer.sign(id, 'git', Buffer.from('gone')), (err: ProxyError) => {
        assert.equal(err.code, 'agent-refused');
        return true;
      });
      assert.deepEqual(await signer.listKeys(), []);
      assert.equal(relay.accepted, 1, 'the refusal did not cost the connection');
      signer.close();
      a.stop();
    },
  );

  it('bytes nobody asked for end the kept connection; the next request is answered correctly', async () => {
    const relay = await startRecordingRelay(dir, agent.sock);
    const signer = signerOn(relay.sock);
    const id = await firstKey(signer);
    // A whole, well-formed SIGN_RESPONSE frame: read as the next answer it would be a
    // signature over something else.
    relay.pushAll(Buffer.from([0, 0, 0, 1, 5]));
    await waitFor(() => relay.open.size === 0, 5_000, 'the kept connection to be dropped');
    await assertVerifies(await signer.sign(id, 'git', Buffer.from('clean')), 'clean');
    assert.equal(relay.accepted, 2);
    signer.close();
  });

  it('an answer that does not fit its request ends the connection: a late answer behind it is never read as the next one', async () => {
    const liar = await startLyingAgent(dir);
    const relay = await startRecordingRelay(dir, liar.sock);
    const signer = signerOn(relay.sock);
    const id = await firstKey(signer);
    liar.lie = 'wrong-type-then-answer';
    await assert.rejects(signer.sign(id, 'git', Buffer.from('first')), (err: ProxyError) => {
      assert.equal(err.code, 'agent-protocol-error');
      return true;
    });
    liar.lie = 'honest';
    // Had the connection been kept, this request would read the first one's late answer
    // (a signature over other data: bad-signature) instead of its own.
    const armored = await signer.sign(id, 'git', Buffer.from('second'));
    assert.match(armored, /^-----BEGIN SSH SIGNATURE-----/);
    assert.equal(relay.accepted, 2, 'the out-of-step connection was not kept');
    signer.close();
  });

  it(
    'a kept connection is given up when the path names another agent, or when it is too old',
    { skip: needsPrivateAgent },
    async () => {
      const own = tempDir();
      const [old, k1] = await agentHolding(own, 'moved.sock', 'old');
      const signer = signerOn(old.sock);
      assert.equal((await firstKey(signer)).fingerprint, k1.fingerprint);
      // The old agent keeps running (its kept connection would still answer); a new agent
      // now answers at the path.
      renameSync(old.sock, `${old.sock}.old`);
      const [fresh, k2] = await agentHolding(own, 'moved.sock', 'new');
      assert.equal((await firstKey(signer)).fingerprint, k2.fingerprint);
      signer.close();
      old.stop();
      fresh.stop();
      // Too old: every use dials again.
      const relay = await startRecordingRelay(dir, agent.sock);
      const pool = new AgentPool({ timeouts, maxIdle: 4, idleMs: 60_000, maxAgeMs: 0 });
      for (let i = 0; i < 3; i++) await pool.use(relay.sock, (c) => c.listIdentities());
      assert.equal(relay.accepted, 3);
      pool.close();
    },
  );

  it(
    'an agent on a path stat cannot read (a Linux abstract socket): it works, its connections are not kept',
    { skip: needsLinux('abstract Unix sockets') },
    async () => {
      const name = `\0sap-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
      let accepted = 0;
      const clients = new Set<Socket>();
      const server = createServer((client) => {
        accepted++;
        clients.add(client);
        const upstream = connect(agent.sock);
        client.pipe(upstream).pipe(client);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
      });
      await new Promise<void>((r) => server.listen(name, r));
      const pool = new AgentPool({ timeouts, maxIdle: 4, idleMs: 60_000, maxAgeMs: 60_000 });
      onCleanup(() => {
        pool.close();
        for (const c of clients) c.destroy();
        server.close();
      });
      for (let i = 0; i < 3; i++)
        assert.equal((await pool.use(name, (c) => c.listIdentities())).length, 1);
      assert.equal(accepted, 3, 'no connection was reused');
      assert.equal(pool.size, 0);
    },
  );

  it('an agent whose signature was refused is not asked again on that connection; a hung one is asked once', async () => {
    const liar = await startLyingAgent(dir);
    const relay = await startRecordingRelay(dir, liar.sock);
    const signer = signerOn(relay.sock, { signMs: 300 });
    const id = await firstKey(signer);
    liar.lie = 'corrupt-signature';
    await assert.rejects(
      signer.sign(id, 'git', Buffer.from('x')),
      /the agent's signature was refused/,
    );
    await waitFor(() => relay.open.size === 0, 5_000, 'the lying connection to close');
    liar.lie = 'honest';
    await signer.sign(id, 'git', Buffer.from('y'));
    const before = relay.accepted;
    assert.equal(before, 2);
    // Hang on a kept connection: a timeout is not a stale connection, never retried.
    liar.lie = 'hang';
    const sent = relay.count(SIGN_REQUEST);
    await assert.rejects(signer.sign(id, 'git', Buffer.from('z')), (err: ProxyError) => {
      assert.equal(err.code, 'agent-timeout');
      return true;
    });
    assert.equal(relay.count(SIGN_REQUEST), sent + 1, 'asked exactly once');
    liar.lie = 'honest';
    await signer.sign(id, 'git', Buffer.from('w'));
    assert.equal(relay.accepted, before + 1, 'the hung connection was not kept');
    // Read, then hung up on without an answer (as an agent might on its own "deny"): the
    // request reached the agent, so it is not sent again.
    liar.lie = 'close-unanswered';
    const sentBefore = relay.count(SIGN_REQUEST);
    await assert.rejects(signer.sign(id, 'git', Buffer.from('v')), (err: ProxyError) => {
      assert.equal(err.code, 'agent-protocol-error');
      return true;
    });
    assert.equal(relay.count(SIGN_REQUEST), sentBefore + 1, 'asked exactly once');
    signer.close();
  });

  it('an idle connection is closed after idleMs, and kept ones never hold a process open', async () => {
    const relay = await startRecordingRelay(dir, agent.sock);
    const pool = new AgentPool({ timeouts, maxIdle: 4, idleMs: 50, maxAgeMs: 60_000 });
    await pool.use(relay.sock, (c) => c.listIdentities());
    await relay.allClosed();
    assert.equal(pool.size, 0);
    // A process that lists keys and never closes its pool exits on its own, long before
    // its idle connection would time out.
    const script = [
      `const { AgentPool } = require(${JSON.stringify(join(ROOT, 'src/core/agent/agent-pool.ts'))});`,
      `const p = new AgentPool({ timeouts: { connectMs: 2000, listMs: 2000, signMs: 2000 }, maxIdle: 4, idleMs: 600000, maxAgeMs: 600000 });`,
      `p.use(${JSON.stringify(agent.sock)}, (c) => c.listIdentities()).then((k) => { process.stdout.write(String(k.length)); });`,
    ].join('\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.error, undefined, 'the process exited by itself');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '1');
  });
});
