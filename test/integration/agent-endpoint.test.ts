// The agent endpoint end to end with real OpenSSH: sshd on a loopback port, ssh, ssh-add
// and ssh-agent, through the proxy's GET /agent (Upgrade: ssh-agent) from a "sandbox" that
// has no access to the host agent — only the bridge's socket.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseAuthorizedKey } from '../../src/core/ssh/keys.js';
import { byte, string, uint32 } from '../../src/core/ssh/wire.js';
import type { PendingRequest } from '../../src/core/approval/approval-broker.js';
import { headline } from '../../src/core/approval/request-view.js';
import { startShimBridge, upgradeAgent, type ShimBridge } from '../helpers/agent-bridge.js';
import { exchange, sessionBind, signRequest } from '../helpers/agent-messages.js';
import {
  makeKey,
  mustRun,
  run,
  startAgent,
  tempDir,
  waitFor,
  type Agent,
  type TestKey,
} from '../helpers/openssh.js';
import { http } from '../helpers/proxy.js';
import { answerEach, startAuditedProxy } from '../helpers/audited-proxy.js';
import type { RecordingRelay } from '../helpers/recording-relay.js';
import { relayedAgent } from '../helpers/fixtures.js';
import { sshArgs, startSshd, type Sshd } from '../helpers/sshd.js';
import { needsSshdAsRoot } from '../helpers/platform.js';

let dir: string;
let agent: Agent;
let keyA: TestKey;
let keyB: TestKey;
let sshd: Sshd;
let knownHosts: string;
let relay: RecordingRelay;

/** Agent messages that change the agent: add, remove, remove-all, smartcard, lock, unlock, constrained adds. */
const MUTATING = [17, 18, 19, 20, 21, 22, 23, 24, 25, 26];

before(async () => {
  if (needsSshdAsRoot) return;
  ({ dir, agent, key: keyA, key2: keyB, relay } = await relayedAgent(['sandbox-key', 'other-key']));
  sshd = await startSshd(dir, [keyA.line, keyB.line]);
  knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
});

const proxyWith = (env: Record<string, string> = {}) =>
  startAuditedProxy({
    SSH_AGENT_PROXY_UPSTREAM: relay.sock,
    SSH_AGENT_PROXY_KNOWN_HOSTS: knownHosts,
    ...env,
  });

function ssh(sock: string, ...command: string[]) {
  return run(
    'ssh',
    [...sshArgs(sshd, knownHosts, sock), ...(command.length ? command : ['true'])],
    {
      env: { PATH: process.env.PATH, HOME: join(dir, 'sandbox-home') },
      timeoutMs: 30_000,
    },
  );
}

function sshAdd(sock: string, ...args: string[]) {
  return run('ssh-add', args, {
    env: {
      PATH: process.env.PATH,
      HOME: join(dir, 'sandbox-home'),
      SSH_AUTH_SOCK: sock,
      SSH_ASKPASS: join(dir, 'askpass.sh'),
      SSH_ASKPASS_REQUIRE: 'force',
      DISPLAY: ':0',
    },
    timeoutMs: 30_000,
  });
}

describe('agent endpoint: SSH login through the proxy', { skip: needsSshdAsRoot }, () => {
  it('policy allow + token: ssh logs in; the audit names the destination from known_hosts', async () => {
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
    const token = p.proxy.tokens.create('box1', { keys: [keyA.fingerprint] });
    const bridge = await startShimBridge(dir, p.url, token);
    const r = await ssh(bridge.sock, 'echo', 'logged-in');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'logged-in');
    const signed = p.audit.filter((a) => a.outcome === 'ok');
    assert.equal(signed.length, 1, JSON.stringify(p.audit));
    const rec = signed[0]!;
    assert.equal(rec.client, 'box1');
    assert.equal(rec.key, keyA.fingerprint);
    assert.equal(rec.namespace, `ssh:[127.0.0.1]:${sshd.port}`);
    assert.equal(
      rec.what,
      `SSH login as ${sshd.user} to [127.0.0.1]:${sshd.port} (host key ${sshd.hostKey.fingerprint})`,
    );
  });

  it('a git-only token logs in nowhere: a login is no git object', async () => {
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
    const before = relay.count(13);
    const token = p.proxy.tokens.create('gitonly-login', { gitOnly: true });
    const bridge = await startShimBridge(dir, p.url, token);
    const r = await ssh(bridge.sock);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Permission denied \(publickey\)/);
    assert.equal(relay.count(13), before, 'the agent was never asked to sign');
    // ssh binds the session before it asks for a login signature: a git-only client's
    // bind is refused and its connection ends (host-key-binds.test.ts).
    assert.ok(!p.audit.some((a) => a.outcome === 'ok'));
  });

  it('a person is asked: the prompt names user, host and host key; denial → Permission denied (publickey)', async () => {
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'prompt' });
    const seen = answerEach(p, 'deny');
    const bridge = await startShimBridge(dir, p.url);
    const before = relay.count(13);
    const r = await ssh(bridge.sock);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Permission denied \(publickey\)/);
    assert.ok(seen.length >= 1);
    assert.equal(
      headline(seen[0]!.description),
      `SSH login as ${sshd.user} to [127.0.0.1]:${sshd.port} (host key ${sshd.hostKey.fingerprint})`,
    );
    assert.equal(relay.count(13), before, 'no SIGN_REQUEST reached the agent');
    assert.ok(p.audit.every((a) => a.outcome === 'denied-by-user'));
  });

  it('a plain publickey login (not host-bound) is shown as unverified, whatever bind came with it', async () => {
    // Its signed bytes hold the session id only, which any host-key holder can bind: the
    // destination is never taken from such a bind, and no grant given on it covers another.
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'prompt' });
    const seen = answerEach(p, 'allow-for-grant');
    const bridge = await startShimBridge(dir, p.url);
    const args = sshArgs(sshd, knownHosts, bridge.sock);
    const unbound = () =>
      run(
        'ssh',
        [...args.slice(0, -1), '-o', 'PubkeyAuthentication=unbound', args.at(-1)!, 'true'],
        {
          env: { PATH: process.env.PATH, HOME: join(dir, 'sandbox-home') },
          timeoutMs: 30_000,
        },
      );
    const r1 = await unbound();
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(headline(seen[0]!.description), /to an unverified host/);
    assert.ok(!headline(seen[0]!.description).includes(`${sshd.port}`), 'no host named');
    const r2 = await unbound();
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(seen.length, 2, 'the grant on the first covered nothing else: asked again');
  });

  it('allow once, then a grant covers this client + key + destination only', async () => {
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'prompt' });
    let prompts = 0;
    p.proxy.broker.attach({
      update(queue) {
        for (const q of queue) {
          prompts++;
          p.proxy.broker.answer({ id: q.id }, 'allow-for-grant');
        }
      },
    });
    const bridge = await startShimBridge(dir, p.url);
    assert.equal((await ssh(bridge.sock)).code, 0);
    assert.equal((await ssh(bridge.sock)).code, 0);
    assert.equal(prompts, 1, 'the second login was covered by the grant');
    const grants = p.proxy.broker.grants();
    assert.equal(grants.length, 1);
    assert.equal(grants[0]!.namespace, `ssh:[127.0.0.1]:${sshd.port}`);
    assert.ok(p.audit.some((a) => a.decidedBy === 'grant' && a.outcome === 'ok'));
  });

  it('a revoked token: the bridge is refused and ssh fails', async () => {
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
    const token = p.proxy.tokens.create('box2');
    const bridge = await startShimBridge(dir, p.url, token);
    assert.equal((await ssh(bridge.sock)).code, 0);
    p.proxy.revokeToken('box2');
    const r = await ssh(bridge.sock);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Permission denied \(publickey\)/);
    await waitFor(() => bridge.stderr().includes('token-revoked: '), 5_000, 'the refusal line');
    assert.match(bridge.stderr(), /^ssh-agent-proxy-sign: agent: token-revoked: /m);
  });

  it("ssh-add -l lists only the token's keys; -D, -d, -x, -X and adding a key fail; the agent is unchanged", async () => {
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
    const token = p.proxy.tokens.create('box3', { keys: [keyA.fingerprint] });
    const bridge = await startShimBridge(dir, p.url, token);
    writeFileSync(join(dir, 'askpass.sh'), '#!/bin/sh\necho pass\n', { mode: 0o755 });
    const hostBefore = await mustRun('ssh-add', ['-l'], { env: agent.env });
    const listed = await sshAdd(bridge.sock, '-l');
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(listed.stdout.includes(keyA.fingerprint));
    assert.ok(!listed.stdout.includes(keyB.fingerprint));
    const before = MUTATING.map((t) => relay.count(t));
    for (const args of [['-D'], ['-d', keyA.pub], ['-x'], ['-X'], [keyB.priv]]) {
      const r = await sshAdd(bridge.sock, ...args);
      assert.notEqual(r.code, 0, `ssh-add ${args.join(' ')} succeeded: ${r.stdout}${r.stderr}`);
    }
    assert.deepEqual(
      MUTATING.map((t) => relay.count(t)),
      before,
      'nothing mutating reached the agent',
    );
    assert.equal(await mustRun('ssh-add', ['-l'], { env: agent.env }), hostBefore);
  });
});

/**
 * Resolves when the socket is closed by the other side (or errors). Bounded: a connection
 * the proxy failed to close fails the test, naming `what`, instead of hanging the suite
 * (the socket is destroyed, so nothing is left behind).
 */
function closed(sock: import('node:net').Socket, what = 'the connection to close'): Promise<void> {
  return new Promise((resolve, reject) => {
    if (sock.destroyed) return resolve();
    const bound = setTimeout(() => {
      sock.destroy();
      reject(new Error(`timed out waiting for ${what}`));
    }, 30_000);
    sock.resume();
    sock.on('data', () => {});
    sock.once('close', () => {
      clearTimeout(bound);
      resolve();
    });
  });
}

/** The rest of what the socket says until it closes. */
function closedText(sock: import('node:net').Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    sock.on('data', (c: Buffer) => (text += c.toString()));
    sock.once('close', () => resolve(text));
    sock.resume();
  });
}

async function stillServing(url: string): Promise<void> {
  const h = await http(`${url}/healthz`);
  assert.equal(h.status, 200);
  const s = await http(`${url}/sign`, { method: 'POST', body: 'still signing\n' });
  assert.equal(s.status, 200, s.text);
}

describe('agent endpoint: the gate before the agent', { skip: needsSshdAsRoot }, () => {
  it('browser, Host, path, method, query, protocol and token guards refuse before anything reaches the agent', async () => {
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
    const token = p.proxy.tokens.create('gate');
    const before = relay.received.length;
    const auth = { Authorization: `Bearer ${token}` };
    const cases: [string, Record<string, string>, number, RegExp][] = [
      ['/agent', { ...auth, Origin: 'https://evil.example' }, 403, /^browser-refused: /],
      ['/agent', { ...auth, 'Sec-Fetch-Site': 'cross-site' }, 403, /^browser-refused: /],
      ['/agent', { ...auth, Host: 'evil.example:7221' }, 421, /^bad-host: /],
      ['/agent', {}, 401, /^token-required: /],
      ['/agent', { Authorization: 'Bearer nope' }, 401, /^(unknown-token|bad-token): /],
      ['/sign', auth, 400, /^bad-upgrade: /],
      ['/agent?x=1', auth, 400, /^bad-query: /],
      ['/agent', { ...auth, Upgrade: 'websocket' }, 426, /^bad-upgrade: /],
    ];
    for (const [path, headers, status, line] of cases) {
      const r = await upgradeAgent(`${p.url}${path}`, headers);
      assert.equal(r.status, status, `${path} ${JSON.stringify(headers)}: ${r.head}`);
      const body = await new Promise<string>((resolve) => {
        let text = r.rest.toString();
        r.socket.on('data', (c: Buffer) => (text += c.toString()));
        r.socket.once('close', () => resolve(text));
        r.socket.resume();
      });
      assert.match(body, line);
    }
    // Basic with the token as password is accepted like Bearer.
    const basic = Buffer.from(`box:${token}`).toString('base64');
    const ok = await upgradeAgent(`${p.url}/agent`, { Authorization: `Basic ${basic}` });
    assert.equal(ok.status, 101);
    ok.socket.destroy();
    // Without Upgrade, /agent is no route of the HTTP API.
    assert.equal((await http(`${p.url}/agent`, { headers: auth })).status, 404);
    assert.equal(relay.received.length, before, 'the agent heard nothing');
  });

  it('one client holds at most 32 agent connections; a closed one frees its place', async () => {
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
    const token = p.proxy.tokens.create('greedy');
    const auth = { Authorization: `Bearer ${token}` };
    const open = [];
    for (let i = 0; i < 32; i++) {
      const r = await upgradeAgent(`${p.url}/agent`, auth);
      assert.equal(r.status, 101);
      open.push(r.socket);
    }
    const refused = await upgradeAgent(`${p.url}/agent`, auth);
    assert.equal(refused.status, 429);
    assert.match(
      refused.rest.toString() + (await closedText(refused.socket)),
      /^too-many-connections: /,
    );
    // Another client is not affected.
    const other = await upgradeAgent(`${p.url}/agent`, {
      Authorization: `Bearer ${p.proxy.tokens.create('modest')}`,
    });
    assert.equal(other.status, 101);
    other.socket.destroy();
    open.pop()!.destroy();
    let again = await upgradeAgent(`${p.url}/agent`, auth);
    for (let tries = 0; again.status !== 101; tries++) {
      assert.ok(tries < 500, `still refused: ${again.status}`);
      // The proxy notices the close asynchronously; ask again until it has.
      again.socket.destroy();
      again = await upgradeAgent(`${p.url}/agent`, auth);
    }
    for (const s of [...open, again.socket]) s.destroy();
  });

  it('an upgraded connection is not held to the HTTP header deadline while it waits', async () => {
    const p = await proxyWith({
      SSH_AGENT_PROXY_APPROVAL: 'allow',
      SSH_AGENT_PROXY_HEADERS_TIMEOUT: '1',
    });
    const up = await upgradeAgent(`${p.url}/agent`);
    // Idle for longer than the header deadline (as while a person reads a prompt).
    await new Promise((r) => setTimeout(r, 2_500));
    const answer = await exchange(up.socket, byte(11));
    assert.equal(answer[0], 12);
    up.socket.destroy();
  });

  // Bounded as a whole (each wait is bounded too): a hang fails this test and lets the
  // file's cleanup stop every process it started, by pid.
  it(
    'garbage, huge and half-sent frames, a flood and a hung agent close that connection; the proxy keeps serving',
    { timeout: 120_000 },
    async () => {
      const lying = await (await import('../helpers/lying-agent.js')).startLyingAgent(dir);
      const p = await proxyWith({
        SSH_AGENT_PROXY_APPROVAL: 'allow',
        SSH_AGENT_PROXY_BODY_TIMEOUT: '1',
        SSH_AGENT_PROXY_LIST_TIMEOUT: '1',
      });
      const open = async () => {
        const r = await upgradeAgent(`${p.url}/agent`);
        assert.equal(r.status, 101);
        return r.socket;
      };
      const before = relay.received.length;
      // Garbage after the handshake: read as a length far past the limit.
      let s = await open();
      s.write('hello, this is not the agent protocol\r\n');
      await closed(s, 'garbage to close the connection');
      // A huge frame is refused from its header alone.
      s = await open();
      s.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 11]));
      await closed(s, 'a huge frame to close the connection');
      // Half a frame, then silence: closed when the frame deadline passes.
      s = await open();
      s.write(Buffer.from([0, 0, 0, 10, 11]));
      await closed(s, 'the frame deadline');
      // Half a frame, then the client half-closes: nothing can complete it.
      s = await open();
      s.end(Buffer.from([0, 0, 0, 10, 11]));
      await closed(s, 'a half frame and a half-close to close the connection');
      assert.equal(relay.received.length, before, 'nothing of it reached the agent');
      // A client that floods requests and never reads. Key-list requests wait on the agent,
      // so the flood piles up behind the first whatever way its bytes arrive: closed past 8
      // queued. (How many reached the agent before that depends on arrival, so it is not
      // asserted beyond: key lists only.)
      s = await open();
      const one = Buffer.from([0, 0, 0, 1, 11]);
      s.pause();
      s.write(Buffer.concat(Array.from({ length: 2000 }, () => one)));
      await closed(s, 'the flood to close the connection');
      assert.ok(
        relay.received.slice(before).every((t) => t === 11),
        `only key lists: ${relay.received.slice(before).join(',')}`,
      );
      await stillServing(p.url);
      // Unknown and mutating messages: SSH_AGENT_FAILURE, the agent never hears them.
      const beforeMutating = relay.received.length;
      s = await open();
      const answers: Buffer[] = [];
      s.on('data', (c: Buffer) => answers.push(c));
      const mutating = Buffer.concat([19, 22, 17, 200].map((t) => Buffer.from([0, 0, 0, 1, t])));
      s.end(mutating);
      await closed(s, 'the answers to the refused messages');
      assert.equal(Buffer.concat(answers).toString('hex'), '0000000105'.repeat(4));
      assert.equal(
        relay.received.slice(beforeMutating).length,
        0,
        `reached the agent: ${relay.received.slice(beforeMutating).join(',')}`,
      );
      // A hung agent: the sign request times out, that connection closes, the proxy goes on.
      lying.lie = 'hang';
      const hung = await proxyWith({
        SSH_AGENT_PROXY_APPROVAL: 'allow',
        SSH_AGENT_PROXY_UPSTREAM: lying.sock,
        SSH_AGENT_PROXY_SIGN_TIMEOUT: '1',
      });
      const h = await upgradeAgent(`${hung.url}/agent`);
      const got: Buffer[] = [];
      h.socket.on('data', (c: Buffer) => got.push(c));
      const blob = parseAuthorizedKey(lying.ed25519Line).key.blob;
      const sign = Buffer.concat([byte(13), string(blob), string('data'), uint32(0)]);
      h.socket.write(Buffer.concat([uint32(sign.length), sign]));
      await closed(h.socket, 'the sign timeout to close the connection');
      assert.deepEqual(lying.received, [13]);
      assert.equal(Buffer.concat(got).toString('hex'), '0000000105');
      assert.equal((await http(`${hung.url}/healthz`)).status, 200);
      await stillServing(p.url);
    },
  );
});

describe('agent endpoint: forwarding', { skip: needsSshdAsRoot }, () => {
  let second: Sshd;
  before(async () => {
    second = await startSshd(dir, [keyA.line], 'sshd2');
    writeFileSync(knownHosts, `${sshd.knownHostsLine}\n${second.knownHostsLine}\n`);
  });

  const hop = (sock: string) =>
    run(
      'ssh',
      [
        '-A',
        ...sshArgs(sshd, knownHosts, sock),
        // On the first host: ssh onward with the forwarded agent ($SSH_AUTH_SOCK there).
        ['ssh', ...sshArgs(second, knownHosts, null), 'echo', 'second-hop'].join(' '),
      ],
      { env: { PATH: process.env.PATH, HOME: join(dir, 'sandbox-home') }, timeoutMs: 30_000 },
    );

  it('an ssh -A hop onward is refused by default, without a prompt', async () => {
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
    const bridge = await startShimBridge(dir, p.url);
    const r = await hop(bridge.sock);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Permission denied \(publickey\)/);
    assert.ok(!r.stdout.includes('second-hop'));
    assert.ok(
      p.audit.some((a) => a.outcome === 'ok'),
      'the first login went through',
    );
    const refused = p.audit.filter((a) => a.outcome === 'forwarding-refused');
    assert.ok(refused.length >= 1, JSON.stringify(p.audit));
    assert.match(
      refused[0]!.what ?? '',
      new RegExp(`to \\[127\\.0\\.0\\.1\\]:${second.port} .*, forwarded$`),
    );
  });

  it('allowed by SSH_AGENT_PROXY_AGENT_ALLOW_FORWARDED, and named as the second host', async () => {
    const p = await proxyWith({
      SSH_AGENT_PROXY_APPROVAL: 'allow',
      SSH_AGENT_PROXY_AGENT_ALLOW_FORWARDED: 'true',
    });
    const bridge = await startShimBridge(dir, p.url);
    const r = await hop(bridge.sock);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'second-hop');
    assert.ok(
      p.audit.some(
        (a) =>
          a.outcome === 'ok' &&
          a.what ===
            `SSH login as ${second.user} to [127.0.0.1]:${second.port} (host key ${second.hostKey.fingerprint}), forwarded`,
      ),
      JSON.stringify(p.audit),
    );
  });
});

describe('agent endpoint: session-bind and extensions', { skip: needsSshdAsRoot }, () => {
  it('query is answered with what the endpoint handles; a verified bind is relayed on the same upstream connection and its answer passed on', async () => {
    const hostAgent = await startAgent(dir, 'host-agent.sock');
    await hostAgent.add(sshd.hostKey);
    const hostKey = parseAuthorizedKey(sshd.hostKey.line).key;
    const sid = Buffer.alloc(32, 0x5a);
    const { withAgent } = await import('../../src/core/agent/agent-client.js');
    const sig = await withAgent(
      hostAgent.sock,
      { connectMs: 5_000, listMs: 5_000, signMs: 5_000 },
      (c) => c.sign(hostKey.blob, sid, 0),
    );
    const bind = (signature: Buffer) => sessionBind(hostKey.blob, sid, signature);
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
    const up = await upgradeAgent(`${p.url}/agent`);
    const query = await exchange(up.socket, Buffer.concat([byte(27), string('query')]));
    assert.equal(
      query.toString('hex'),
      Buffer.concat([byte(29), string('query'), string('session-bind@openssh.com')]).toString(
        'hex',
      ),
    );
    const binds = relay.count(27);
    // A signature that does not verify: refused here, never relayed.
    const bad = Buffer.from(sig);
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
    assert.deepEqual([...(await exchange(up.socket, bind(bad)))], [28]);
    assert.equal(relay.count(27), binds);
    // …and that connection ends: ssh never sends a bind that fails.
    await closed(up.socket);
    // A verified one: relayed, and ssh-agent's SUCCESS passed on.
    const upOk = await upgradeAgent(`${p.url}/agent`);
    assert.deepEqual([...(await exchange(upOk.socket, bind(sig)))], [6]);
    assert.equal(relay.count(27), binds + 1);
    upOk.socket.destroy();
    // An upstream agent that refuses session-bind: the refusal is passed on, not a fake success.
    const lying = await (await import('../helpers/lying-agent.js')).startLyingAgent(dir);
    const q = await proxyWith({
      SSH_AGENT_PROXY_APPROVAL: 'allow',
      SSH_AGENT_PROXY_UPSTREAM: lying.sock,
    });
    const up2 = await upgradeAgent(`${q.url}/agent`);
    assert.deepEqual([...(await exchange(up2.socket, bind(sig)))], [5]);
    assert.deepEqual(lying.received, [27]);
    up2.socket.destroy();
    // A token revoked while its connection stays open: its verified bind reaches nothing.
    const token = p.proxy.tokens.create('bind-then-revoke');
    const up3 = await upgradeAgent(`${p.url}/agent`, { Authorization: `Bearer ${token}` });
    p.proxy.revokeToken('bind-then-revoke');
    const before = relay.count(27);
    const answer = await exchange(up3.socket, bind(sig)).catch(() => Buffer.alloc(0));
    assert.notDeepEqual([...answer], [6], 'no success for a revoked token');
    assert.equal(relay.count(27), before, 'the upstream agent never saw the bind');
    up3.socket.destroy();
  });
});

describe('agent endpoint: git over ssh://', { skip: needsSshdAsRoot }, () => {
  it('git clone and git push to a bare repository on the sshd, through the bridge under a token', async () => {
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
    const token = p.proxy.tokens.create('gitbox', { keys: [keyA.fingerprint] });
    const bridge = await startShimBridge(dir, p.url, token);
    const bare = join(dir, 'served.git');
    await mustRun('git', ['init', '-q', '--bare', '-b', 'main', bare]);
    const opts = sshArgs(sshd, knownHosts, bridge.sock).slice(0, -3).join(' ');
    const env = {
      PATH: process.env.PATH,
      HOME: join(dir, 'sandbox-home'),
      GIT_SSH_COMMAND: `ssh ${opts}`,
      GIT_CONFIG_NOSYSTEM: '1',
    };
    const url = `ssh://${sshd.user}@127.0.0.1:${sshd.port}${bare}`;
    const work = join(dir, 'clone');
    const clone = await run('git', ['clone', '-q', url, work], { env });
    assert.equal(clone.code, 0, clone.stderr);
    const git = (...args: string[]) =>
      mustRun(
        'git',
        ['-C', work, '-c', 'user.name=Ana', '-c', 'user.email=ana@example.test', ...args],
        {
          env,
        },
      );
    writeFileSync(join(work, 'README'), 'hello\n');
    await git('add', 'README');
    await git('commit', '-q', '-m', 'first');
    const push = await run('git', ['-C', work, 'push', '-q', 'origin', 'HEAD:main'], { env });
    assert.equal(push.code, 0, push.stderr);
    assert.equal(
      (await mustRun('git', ['--git-dir', bare, 'log', '--format=%s', 'main'])).trim(),
      'first',
    );
    const logins = p.audit.filter((a) => a.outcome === 'ok' && a.client === 'gitbox');
    assert.equal(logins.length, 2, 'one login for the clone, one for the push');
  });
});

describe('agent endpoint: host-local socket', { skip: needsSshdAsRoot }, () => {
  it('0600 in a 0700 directory; ssh logs in through it; a stale socket is replaced, a live one or a file is not', async () => {
    const { statSync, mkdirSync, chmodSync } = await import('node:fs');
    const { spawn } = await import('node:child_process');
    const sockDir = join(dir, 'local-agent');
    const path = join(sockDir, 'agent.sock');
    // A stale socket: its listener was killed without cleaning up.
    mkdirSync(sockDir, { mode: 0o700 });
    const stale = spawn('socat', [`UNIX-LISTEN:${path}`, 'STDOUT'], { stdio: 'ignore' });
    await waitFor(() => {
      try {
        return statSync(path).isSocket();
      } catch {
        return false;
      }
    });
    stale.kill('SIGKILL');
    await new Promise((r) => stale.once('exit', r));
    const p = await proxyWith({
      SSH_AGENT_PROXY_APPROVAL: 'allow',
      SSH_AGENT_PROXY_AGENT_SOCKET: path,
    });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(sockDir).mode & 0o777, 0o700);
    const r = await ssh(path, 'echo', 'local');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(p.audit.some((a) => a.client === 'local socket' && a.outcome === 'ok'));
    // A second proxy on the same, live, socket is refused, naming the setting.
    await assert.rejects(
      proxyWith({ SSH_AGENT_PROXY_AGENT_SOCKET: path }),
      /SSH_AGENT_PROXY_AGENT_SOCKET: .*in use/,
    );
    // Something that is not a socket is never deleted.
    const file = join(sockDir, 'not-a-socket');
    writeFileSync(file, 'keep me');
    await assert.rejects(
      proxyWith({ SSH_AGENT_PROXY_AGENT_SOCKET: file }),
      /SSH_AGENT_PROXY_AGENT_SOCKET: .*not a socket/,
    );
    // A directory other users can enter is refused.
    const open = join(dir, 'open-dir');
    mkdirSync(open);
    chmodSync(open, 0o755);
    await assert.rejects(
      proxyWith({ SSH_AGENT_PROXY_AGENT_SOCKET: join(open, 'a.sock') }),
      /must be 0700/,
    );
    // A symlink to a good directory is refused: whoever owns the link could re-point it.
    const { symlinkSync } = await import('node:fs');
    const link = join(dir, 'link-dir');
    symlinkSync(sockDir, link);
    await assert.rejects(
      proxyWith({ SSH_AGENT_PROXY_AGENT_SOCKET: join(link, 'b.sock') }),
      /symbolic link/,
    );
  });
});

/**
 * No relay of this bridge is running (`sh|bash SHIM agent-relay`): only processes in the
 * bridge's own process group count, so another bridge elsewhere on the machine does not.
 */
function relayGone(bridge: ShimBridge): boolean {
  const ps = execFileSync('ps', ['-eo', 'pgid=,args='], { encoding: 'utf8' });
  return !ps.split('\n').some((l) => {
    const m = /^\s*(\d+)\s+(.*)$/.exec(l);
    return (
      m !== null &&
      Number(m[1]) === bridge.pgid &&
      /^\S*(sh|bash|dash) \S+ agent-relay$/.test(m[2]!)
    );
  });
}

describe(
  'agent endpoint: the container-side bridge (ssh-agent-proxy-sign agent)',
  { skip: needsSshdAsRoot },
  () => {
    it('listens 0600, prints the SSH_AUTH_SOCK line, and works under dash and bash', async () => {
      const { statSync } = await import('node:fs');
      const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
      const token = p.proxy.tokens.create('shimbox', { keys: [keyA.fingerprint] });
      for (const shell of ['dash', 'bash']) {
        const bridge = await startShimBridge(dir, p.url, token, shell);
        assert.equal(bridge.line, `SSH_AUTH_SOCK=${bridge.sock}; export SSH_AUTH_SOCK`);
        assert.equal(statSync(bridge.sock).mode & 0o777, 0o600);
        const r = await ssh(bridge.sock, 'echo', shell);
        assert.equal(r.code, 0, r.stderr + bridge.stderr());
        assert.equal(r.stdout.trim(), shell);
        // A relay that ended normally leaves nothing on the bridge's terminal.
        await waitFor(() => relayGone(bridge), 5_000, 'the relay to end');
        assert.equal(bridge.stderr(), '');
        await bridge.stop();
      }
    });

    it('replaces a stale socket, refuses a live one or a file', async () => {
      const { SHIM } = await import('../helpers/proxy.js');
      const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
      const first = await startShimBridge(dir, p.url);
      const again = (sock: string) =>
        run('dash', [SHIM, 'agent', sock], {
          env: { PATH: process.env.PATH, HOME: dir, SSH_AGENT_PROXY_URL: `${p.url}/sign` },
          timeoutMs: 30_000,
        });
      const live = await again(first.sock);
      assert.equal(live.code, 1);
      assert.equal(live.stderr, `ssh-agent-proxy-sign: agent: ${first.sock} is in use\n`);
      const file = join(dir, 'plain-file');
      writeFileSync(file, 'keep');
      const notSock = await again(file);
      assert.equal(
        notSock.stderr,
        `ssh-agent-proxy-sign: agent: ${file} exists and is not a socket\n`,
      );
      // Killed without cleaning up: the socket stays, nobody listens; the next bridge takes it.
      const { execFileSync: ps } = await import('node:child_process');
      // The listener and any child it forked for an earlier connection: every one of them.
      const socatPids = ps('pgrep', ['-f', `UNIX-LISTEN:${first.sock}`], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean);
      assert.ok(socatPids.length > 0, 'the bridge listener is running');
      for (const pid of socatPids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // already gone
        }
      }
      await first.stop();
      const next = await startShimBridge(dir, p.url, undefined, 'dash', first.sock);
      assert.equal(next.line, `SSH_AUTH_SOCK=${first.sock}; export SSH_AUTH_SOCK`);
      const r = await sshAdd(next.sock, '-l');
      assert.equal(r.code, 0, r.stderr);
    });

    it('setup prints the bridge for every runtime', async () => {
      const { containerSetup, RUNTIMES } = await import('../../src/core/config/container-setup.js');
      for (const runtime of RUNTIMES) {
        const lines = containerSetup({
          runtime,
          port: 7221,
          bindHost: '127.0.0.1',
          tokenName: null,
        });
        assert.match(
          lines,
          /^# +ssh-agent-proxy-sign agent "\$HOME\/\.cache\/ssh-agent-proxy-sign\/agent\.sock"$/m,
        );
        assert.match(
          lines,
          /^export SSH_AUTH_SOCK="\$HOME\/\.cache\/ssh-agent-proxy-sign\/agent\.sock"$/m,
        );
      }
    });

    it('fails with one clear line when the proxy is unreachable or the token refused', async () => {
      const { SHIM } = await import('../helpers/proxy.js');
      const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
      p.proxy.tokens.create('someone');
      const bridge = (url: string, token?: string) =>
        run('dash', [SHIM, 'agent', join(dir, 'never.sock')], {
          env: {
            PATH: process.env.PATH,
            HOME: dir,
            SSH_AGENT_PROXY_URL: `${url}/sign`,
            ...(token ? { SSH_AGENT_PROXY_TOKEN: token } : {}),
          },
          timeoutMs: 30_000,
        });
      const refused = await bridge(p.url, 'sap_not-a-real-token');
      assert.equal(refused.code, 1);
      assert.match(
        refused.stderr,
        /^ssh-agent-proxy-sign: agent: the proxy refused: bad-token: .*\n$/,
      );
      assert.equal(refused.stderr.split('\n').length, 2, refused.stderr);
      const missing = await bridge(p.url);
      assert.match(
        missing.stderr,
        /^ssh-agent-proxy-sign: agent: the proxy refused: token-required: /,
      );
      const down = await bridge('http://127.0.0.1:9');
      assert.equal(down.code, 1);
      assert.equal(
        down.stderr,
        'ssh-agent-proxy-sign: agent: cannot reach ssh-agent-proxy at http://127.0.0.1:9; is it running on the host?\n',
      );
      assert.equal(refused.stdout + missing.stdout + down.stdout, '', 'no SSH_AUTH_SOCK line');
    });
  },
);

describe(
  'agent endpoint: sign requests that must not get through',
  { skip: needsSshdAsRoot },
  () => {
    const signFor = (k: TestKey, data: Buffer, flags = 0) =>
      signRequest(parseAuthorizedKey(k.line).key.blob, data, flags);
    const login = (k: TestKey, sid = Buffer.alloc(32, 3)) =>
      Buffer.concat([
        string(sid),
        byte(50),
        string('git'),
        string('ssh-connection'),
        string('publickey'),
        byte(1),
        string(k.line.split(' ')[0]!),
        string(parseAuthorizedKey(k.line).key.blob),
      ]);

    it('a key outside the token, RSA SHA-1, a revoked token mid-connection: refused before any prompt or agent message', async () => {
      const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
      const token = p.proxy.tokens.create('narrow', { keys: [keyA.fingerprint] });
      const up = await upgradeAgent(`${p.url}/agent`, { Authorization: `Bearer ${token}` });
      const signs = relay.count(13);
      assert.deepEqual([...(await exchange(up.socket, signFor(keyB, login(keyB))))], [5]);
      assert.equal(relay.count(13), signs, 'no SIGN_REQUEST for a key the token does not allow');
      assert.equal(p.audit.at(-1)?.outcome, 'key-not-allowed');
      // The allowed key signs (policy allow), and the signature is the agent's, verified.
      const ok = await exchange(up.socket, signFor(keyA, login(keyA)));
      assert.equal(ok[0], 14);
      assert.equal(relay.count(13), signs + 1);
      // Revoked while connected: the next request is refused and the connection ends.
      p.proxy.revokeToken('narrow');
      assert.deepEqual([...(await exchange(up.socket, signFor(keyA, login(keyA))))], [5]);
      await closed(up.socket);
      assert.equal(relay.count(13), signs + 1);
      assert.equal(p.audit.at(-1)?.outcome, 'token-revoked');
    });

    it('RSA without a SHA-2 flag is refused; a login without session-bind is shown as unverified; a hang-up withdraws the prompt', async () => {
      const rsaDir = tempDir();
      const rsaAgent = await startAgent(rsaDir);
      const rsa = await makeKey(rsaDir, 'rsa', 'rsa-key');
      await rsaAgent.add(rsa);
      const p = await proxyWith({
        SSH_AGENT_PROXY_APPROVAL: 'prompt',
        SSH_AGENT_PROXY_UPSTREAM: rsaAgent.sock,
      });
      const seen: PendingRequest[] = [];
      p.proxy.broker.attach({
        update: (q) => q.forEach((r) => seen.some((s) => s.id === r.id) || seen.push(r)),
      });
      const up = await upgradeAgent(`${p.url}/agent`);
      assert.deepEqual([...(await exchange(up.socket, signFor(rsa, login(rsa), 0)))], [5]);
      assert.equal(p.audit.at(-1)?.outcome, 'unsupported-algorithm');
      assert.equal(seen.length, 0, 'no prompt for SHA-1');
      // A login without a bound session: asked, and shown as unverified.
      up.socket.write(
        Buffer.concat([uint32(signFor(rsa, login(rsa), 4).length), signFor(rsa, login(rsa), 4)]),
      );
      await waitFor(() => seen.length === 1, 5_000, 'the prompt');
      assert.equal(
        headline(seen[0]!.description),
        'SSH login as git to an unverified host (the login is not bound to a host key: no session-bind, or not host-bound)',
      );
      assert.ok(seen[0]!.namespace.startsWith('ssh:(unverified host) '), seen[0]!.namespace);
      // The client hangs up: the prompt is withdrawn, nothing is signed.
      up.socket.destroy();
      await waitFor(() => p.proxy.broker.queue().length === 0, 5_000, 'the prompt to be withdrawn');
      await waitFor(() => p.audit.length === 2, 5_000, 'the audit record');
      assert.equal(p.audit.at(-1)?.outcome, 'hung-up');
    });

    it('opaque data is shown as size and hash; refused for a git-only or namespace-limited token, and SSHSIG data always', async () => {
      const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'prompt' });
      const seen = answerEach(p, 'allow-once');
      const gitOnly = p.proxy.tokens.create('gitonly', { gitOnly: true });
      const g = await upgradeAgent(`${p.url}/agent`, { Authorization: `Bearer ${gitOnly}` });
      assert.deepEqual(
        [...(await exchange(g.socket, signFor(keyA, Buffer.from('anything'))))],
        [5],
      );
      assert.equal(p.audit.at(-1)?.outcome, 'not-a-git-object');
      g.socket.destroy();
      // SSHSIG signed data (what ssh-keygen -Y sign asks an agent for) never goes this way:
      // it would make git and file signatures in any namespace without /sign's checks.
      const sshsig = Buffer.concat([
        Buffer.from('SSHSIG'),
        Buffer.from([0, 0, 0, 3]),
        Buffer.from('git'),
      ]);
      const any = p.proxy.tokens.create('anydata');
      const x = await upgradeAgent(`${p.url}/agent`, { Authorization: `Bearer ${any}` });
      assert.deepEqual([...(await exchange(x.socket, signFor(keyA, sshsig)))], [5]);
      assert.equal(p.audit.at(-1)?.outcome, 'use-sign-endpoint');
      x.socket.destroy();
      // A token limited to namespaces signs in those only: opaque data is refused.
      const limited = p.proxy.tokens.create('gitns', { namespaces: ['git'] });
      const l = await upgradeAgent(`${p.url}/agent`, { Authorization: `Bearer ${limited}` });
      assert.deepEqual(
        [...(await exchange(l.socket, signFor(keyA, Buffer.from('anything'))))],
        [5],
      );
      assert.equal(p.audit.at(-1)?.outcome, 'namespace-not-allowed');
      l.socket.destroy();
      const a = await upgradeAgent(`${p.url}/agent`, { Authorization: `Bearer ${any}` });
      const ans = await exchange(a.socket, signFor(keyA, Buffer.from('anything')));
      assert.equal(ans[0], 14);
      assert.equal(headline(seen.at(-1)!.description), 'Sign 8 bytes of text');
      a.socket.destroy();
    });
  },
);

describe(
  "agent endpoint: the upstream agent's own destination constraints",
  { skip: needsSshdAsRoot },
  () => {
    it('a key added with ssh-add -h logs in to its host through the bridge and nowhere else', async () => {
      const cdir = tempDir();
      const constrained = await startAgent(cdir);
      const other = await startSshd(cdir, [keyA.line], 'sshd-other');
      const kh = join(cdir, 'known_hosts');
      writeFileSync(kh, `${sshd.knownHostsLine}\n${other.knownHostsLine}\n`);
      // ssh-agent refuses a destination-constrained key on a connection that was not bound
      // to a permitted host: this login works only if the bind reached it on the same
      // connection as the sign request.
      await mustRun('ssh-add', ['-q', '-h', `[127.0.0.1]:${sshd.port}`, '-H', kh, keyA.priv], {
        env: constrained.env,
      });
      const p = await proxyWith({
        SSH_AGENT_PROXY_APPROVAL: 'allow',
        SSH_AGENT_PROXY_UPSTREAM: constrained.sock,
        SSH_AGENT_PROXY_KNOWN_HOSTS: kh,
      });
      const bridge = await startShimBridge(cdir, p.url);
      const sshTo = (s: Sshd) =>
        run('ssh', [...sshArgs(s, kh, bridge.sock), 'echo', 'in'], {
          env: { PATH: process.env.PATH, HOME: join(cdir, 'home') },
          timeoutMs: 30_000,
        });
      const ok = await sshTo(sshd);
      assert.equal(ok.code, 0, ok.stderr);
      const refused = await sshTo(other);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /Permission denied \(publickey\)/);
    });
  },
);
