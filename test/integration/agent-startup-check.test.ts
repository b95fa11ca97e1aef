// The start-up line that says whether signing can work, against real agents: a real
// ssh-agent with keys, one with none, a socket nobody listens on, an agent that never
// answers (the one fake: no real agent hangs on purpose), no agent at all; and the console
// saying it in its log before "listening on".
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { checkAgentAtStart } from '../../src/core/agent/agent-startup-check.js';
import { agentWithKey, createToken } from '../helpers/fixtures.js';
import { makeKey, run, startAgent, tempDir, type Agent, type TestKey } from '../helpers/openssh.js';
import { spawnConsole } from '../helpers/proxy.js';
import { needsPosixShell, needsPosixSignals } from '../helpers/platform.js';

let full: Agent;
let key: TestKey;
let empty: Agent;
let dir: string;

before(async () => {
  ({ agent: full, key, dir } = await agentWithKey());
  empty = await startAgent(tempDir(), 'empty.sock');
});

describe('checkAgentAtStart', { skip: needsPosixShell }, () => {
  it('an agent with keys: ok, says which agent and how many keys', async () => {
    const c = await checkAgentAtStart({
      agent: { path: full.sock, source: 'SSH_AUTH_SOCK' },
      pinnedFingerprint: null,
    });
    assert.equal(c.state, 'ok');
    assert.equal(c.keyCount, 1);
    assert.equal(c.message, `agent: ${full.sock} (SSH_AUTH_SOCK) answers and holds 1 key`);
    assert.equal(c.fix, '');
  });

  it('an agent with no keys: a warning naming ssh-add', async () => {
    const c = await checkAgentAtStart({
      agent: { path: empty.sock, source: 'SSH_AGENT_PROXY_UPSTREAM' },
      pinnedFingerprint: null,
    });
    assert.equal(c.state, 'no-keys');
    assert.equal(c.keyCount, 0);
    assert.match(c.message, /answers but holds no keys — signing will fail/);
    assert.match(c.fix, /ssh-add/);
  });

  it('the pinned key missing from the agent: a warning naming the key', async () => {
    const other = await makeKey(dir, 'ed25519', 'not-loaded');
    const c = await checkAgentAtStart({
      agent: { path: full.sock, source: 'SSH_AUTH_SOCK' },
      pinnedFingerprint: other.fingerprint,
    });
    assert.equal(c.state, 'pinned-key-missing');
    assert.ok(c.message.includes(other.fingerprint));
    const held = await checkAgentAtStart({
      agent: { path: full.sock, source: 'SSH_AUTH_SOCK' },
      pinnedFingerprint: key.fingerprint,
    });
    assert.equal(held.state, 'ok');
  });

  it('no socket there, or a socket that never answers: unreachable, naming the fix', async () => {
    const gone = await checkAgentAtStart({
      agent: { path: join(dir, 'nothing-here.sock'), source: 'SSH_AUTH_SOCK' },
      pinnedFingerprint: null,
    });
    assert.equal(gone.state, 'unreachable');
    assert.match(gone.message, /does not answer \(.+\) — signing will fail until it does; start/);
    assert.match(gone.fix, /SSH_AGENT_PROXY_UPSTREAM/);

    // Accepts and reads, never answers: bounded by the timeout, not a hang.
    const mute = createServer((s) => s.resume());
    const path = join(dir, 'mute.sock');
    await new Promise<void>((r) => mute.listen(path, r));
    try {
      const c = await checkAgentAtStart(
        { agent: { path, source: 'SSH_AUTH_SOCK' }, pinnedFingerprint: null },
        300,
      );
      assert.equal(c.state, 'unreachable');
    } finally {
      mute.close();
    }
  });

  it('no agent configured at all', async () => {
    const c = await checkAgentAtStart({ agent: null, pinnedFingerprint: null });
    assert.equal(c.state, 'no-agent');
    assert.match(c.message, /^agent: none found — signing cannot work; set SSH_AUTH_SOCK/);
  });
});

describe('the console says it at start', () => {
  it('before "listening on": keys held, or a warning with the fix', async (t) => {
    if (needsPosixSignals) return t.skip(needsPosixSignals);
    const ok = await spawnConsole({
      SSH_AUTH_SOCK: full.sock,
      SSH_AGENT_PROXY_APPROVAL: 'deny',
      SSH_AGENT_PROXY_CONFIG_DIR: join(dir, 'cfg-ok'),
    });
    assert.match(
      ok.stderr(),
      new RegExp(
        `agent: ${full.sock.replace(/[.]/g, '\\.')} \\(SSH_AUTH_SOCK\\) answers and holds 1 key\\n[^]*listening on`,
      ),
    );
    assert.equal(await ok.stop('SIGTERM'), 0);
    const none = await spawnConsole({
      SSH_AUTH_SOCK: empty.sock,
      SSH_AGENT_PROXY_APPROVAL: 'deny',
      SSH_AGENT_PROXY_CONFIG_DIR: join(dir, 'cfg-none'),
    });
    assert.match(
      none.stderr(),
      /WARN.*answers but holds no keys — signing will fail until it does; add one with ssh-add/i,
    );
    assert.equal(await none.stop('SIGTERM'), 0);
  });

  it('following the fix it names works: ssh-add the key, and curl signs (verified by ssh-keygen)', async (t) => {
    if (needsPosixSignals) return t.skip(needsPosixSignals);
    const agentDir = tempDir();
    const later = await startAgent(agentDir, 'later.sock');
    const configDir = join(agentDir, 'cfg');
    const token = await createToken(configDir, 'box');
    const p = await spawnConsole({
      SSH_AUTH_SOCK: later.sock,
      SSH_AGENT_PROXY_APPROVAL: 'allow',
      SSH_AGENT_PROXY_CONFIG_DIR: configDir,
    });
    const warning =
      /answers but holds no keys — signing will fail until it does; add one with (ssh-add)/.exec(
        p.stderr(),
      );
    assert.ok(warning, p.stderr());
    const curl = () =>
      run(
        'curl',
        ['-sS', '-H', `Authorization: Bearer ${token}`, '--data-binary', '@-', `${p.url}/sign`],
        { input: 'hello\n' },
      );
    assert.match((await curl()).stdout, /^no-keys: /);
    const k = await makeKey(agentDir, 'ed25519', 'added-later');
    await later.add(k); // ssh-add, as the warning says
    const signed = await curl();
    assert.match(signed.stdout, /^-----BEGIN SSH SIGNATURE-----\n/);
    writeFileSync(join(agentDir, 'hello.sig'), signed.stdout);
    const check = await run(
      'ssh-keygen',
      ['-Y', 'check-novalidate', '-n', 'git', '-s', join(agentDir, 'hello.sig')],
      { input: 'hello\n' },
    );
    assert.equal(check.code, 0, check.stderr);
    assert.equal(await p.stop('SIGTERM'), 0);
  });
});
