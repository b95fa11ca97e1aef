// A login on /agent keeps re-checking its token after every wait: a token revoked while
// its login waited for its turn under the rate limit, or while a person approved it, gets
// no prompt and no signature. Real sshd, ssh and the shim's agent bridge; a real
// ssh-agent behind a recording relay counts the SIGN_REQUESTs that reach it. Time for the
// rate limiter moves by hand, so "waiting its turn" is a state the test observes.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { TokenStore } from '../../src/core/approval/token-store.js';
import type { Clock } from '../../src/core/clock.js';
import { startShimBridge } from '../helpers/agent-bridge.js';
import { relayedAgent, SIGN_REQUEST } from '../helpers/fixtures.js';
import { run, waitFor, type TestKey } from '../helpers/openssh.js';
import { needsSshdAsRoot } from '../helpers/platform.js';
import { answerEach, startAuditedProxy } from '../helpers/audited-proxy.js';
import { ManualClock } from '../helpers/manual-clock.js';
import type { RecordingRelay } from '../helpers/recording-relay.js';
import { sshArgs, startSshd, type Sshd } from '../helpers/sshd.js';

let dir: string;
let key: TestKey;
let relay: RecordingRelay;
let sshd: Sshd;
let knownHosts: string;

before(async () => {
  if (needsSshdAsRoot) return;
  const a = await relayedAgent(['login-key', 'other']);
  ({ dir, key, relay } = a);
  sshd = await startSshd(dir, [key.line]);
  knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
});

const proxy = (clock: Clock) =>
  startAuditedProxy(
    {
      SSH_AGENT_PROXY_UPSTREAM: relay.sock,
      SSH_AGENT_PROXY_KNOWN_HOSTS: knownHosts,
      SSH_AGENT_PROXY_APPROVAL: 'prompt',
      // One login at full speed, then one a second.
      SSH_AGENT_PROXY_RATE_LIMIT: '60',
      SSH_AGENT_PROXY_RATE_BURST: '1',
    },
    { clock },
  );

function ssh(sock: string) {
  return run('ssh', [...sshArgs(sshd, knownHosts, sock), 'true'], {
    env: { PATH: process.env.PATH, HOME: join(dir, 'sandbox-home') },
    timeoutMs: 30_000,
  });
}

describe('/agent re-checks its token after every wait', { skip: needsSshdAsRoot }, () => {
  it('a token revoked while its login waits for its turn under the rate limit: no prompt, no signature', async () => {
    const clock = new ManualClock(Date.now());
    const p = await proxy(clock);
    const token = p.proxy.tokens.create('waiter', { keys: [key.fingerprint] });
    const seen = answerEach(p, 'allow-once');
    const bridge = await startShimBridge(dir, p.url, token);
    // The first login spends the burst: asked, allowed, signed.
    const first = await ssh(bridge.sock);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(seen.length, 1);
    const signs = relay.count(SIGN_REQUEST);
    // The second waits for its turn: the limiter's timer is the only one set.
    const limiterTimers = clock.timers.length;
    const second = ssh(bridge.sock);
    await waitFor(
      () => clock.timers.length > limiterTimers,
      20_000,
      'the second login to wait its turn',
    );
    // Revoked as the CLI does it (the file changes; the proxy is not told).
    assert.equal(new TokenStore(p.configDir).revoke('waiter'), true);
    clock.advance(1_000);
    const r = await second;
    assert.notEqual(r.code, 0, 'the login failed');
    assert.equal(seen.length, 1, 'the revoked token reached no prompt');
    assert.equal(relay.count(SIGN_REQUEST), signs, 'the agent was not asked to sign');
    await waitFor(() => p.audit.length >= 2, 5_000, 'the audit record');
    const last = p.audit.at(-1)!;
    assert.equal(last.outcome, 'token-revoked', JSON.stringify(last));
    assert.notEqual(last.decision, 'allowed', 'not recorded as allowed by anyone');
  });

  it('a token revoked between the person’s approval and the agent: nothing is signed', async () => {
    const p = await proxy(new ManualClock(Date.now()));
    const token = p.proxy.tokens.create('approved', { keys: [key.fingerprint] });
    // Allowed, and in the same moment revoked by another process.
    const seen = answerEach(p, 'allow-once', () => new TokenStore(p.configDir).revoke('approved'));
    const bridge = await startShimBridge(dir, p.url, token);
    const signs = relay.count(SIGN_REQUEST);
    const r = await ssh(bridge.sock);
    assert.notEqual(r.code, 0, 'the login failed');
    assert.equal(seen.length, 1);
    assert.equal(relay.count(SIGN_REQUEST), signs, 'the agent was not asked to sign');
    await waitFor(() => p.audit.length >= 1, 5_000, 'the audit record');
    assert.equal(p.audit.at(-1)!.outcome, 'token-revoked', JSON.stringify(p.audit));
  });
});
