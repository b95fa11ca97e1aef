// Approval `allow` with no client token would sign for any local process or user, silently
// and unnamed: it is refused at start and as a settings change, unless chosen outright.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ConfigError } from '../../src/core/config/config.js';
import { ANY_LOCAL_PROCESS_CONSENT } from '../../src/core/config/settings-spec.js';
import { agentWithKey, commitObject, createToken, type AgentWithKey } from '../helpers/fixtures.js';
import { run, tempDir } from '../helpers/openssh.js';
import { CLI, http, spawnConsole, startTestProxy } from '../helpers/proxy.js';
import { windowsSystemEnv } from '../helpers/platform.js';

let fx: AgentWithKey;
before(async () => {
  fx = await agentWithKey();
});

/** The console proxy started with exactly `env` and `args` (no test opt-out): its exit code and stderr. */
function startConsole(env: Record<string, string>, args: string[] = []) {
  return run(process.execPath, [CLI, '--console', ...args], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...windowsSystemEnv(),
      SSH_AGENT_PROXY_ADDR: '127.0.0.1:0',
      SSH_AGENT_PROXY_UPSTREAM: fx.agent.sock,
      ...env,
    },
    // Bounds the test on a build that starts anyway (it would serve until killed).
    timeoutMs: 30_000,
  });
}

describe('approval allow needs a client token', () => {
  it('with no token, the proxy refuses to start (exit 2), naming the setting and the fix', async () => {
    const cfg = join(tempDir(), 'cfg');
    const r = await startConsole({
      SSH_AGENT_PROXY_APPROVAL: 'allow',
      SSH_AGENT_PROXY_CONFIG_DIR: cfg,
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /SSH_AGENT_PROXY_APPROVAL: approval "allow" needs at least one client token/,
    );
    assert.match(r.stderr, /ssh-agent-proxy token create NAME/);
    assert.match(r.stderr, /SSH_AGENT_PROXY_ALLOW_ANY_LOCAL_PROCESS/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  it('the flag is named when it set the policy', async () => {
    const cfg = join(tempDir(), 'cfg');
    const r = await startConsole({}, ['--approval', 'allow', '--config-dir', cfg]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--approval: approval "allow" needs at least one client token/);
  });

  it('an opt-out that is anything but its exact value is an invalid setting (exit 2)', async () => {
    for (const value of ['true', '1', 'yes', 'i-understand']) {
      const r = await startConsole({
        SSH_AGENT_PROXY_APPROVAL: 'allow',
        SSH_AGENT_PROXY_ALLOW_ANY_LOCAL_PROCESS: value,
        SSH_AGENT_PROXY_CONFIG_DIR: join(tempDir(), 'cfg'),
      });
      assert.equal(r.code, 2, `${value}: ${r.stderr}`);
      assert.match(r.stderr, /SSH_AGENT_PROXY_ALLOW_ANY_LOCAL_PROCESS/);
    }
  });

  it('with a token it starts, and a tokenless caller gets 401 while the token signs', async () => {
    const cfg = join(tempDir(), 'cfg');
    const token = await createToken(cfg, 'box');
    const p = await spawnConsole({
      SSH_AGENT_PROXY_APPROVAL: 'allow',
      SSH_AGENT_PROXY_ALLOW_ANY_LOCAL_PROCESS: '',
      SSH_AGENT_PROXY_CONFIG_DIR: cfg,
      SSH_AGENT_PROXY_UPSTREAM: fx.agent.sock,
    });
    const body = commitObject('unattended');
    const anon = await http(`${p.url}/sign`, { method: 'POST', body });
    assert.equal(anon.status, 401, anon.text);
    const signed = await http(`${p.url}/sign`, {
      method: 'POST',
      body,
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(signed.status, 200, signed.text);
  });

  it('the exact opt-out lets it run tokenless (the Rust tool’s trust model)', async () => {
    const p = await spawnConsole({
      SSH_AGENT_PROXY_APPROVAL: 'allow',
      SSH_AGENT_PROXY_ALLOW_ANY_LOCAL_PROCESS: ANY_LOCAL_PROCESS_CONSENT,
      SSH_AGENT_PROXY_CONFIG_DIR: join(tempDir(), 'cfg'),
      SSH_AGENT_PROXY_UPSTREAM: fx.agent.sock,
    });
    const r = await http(`${p.url}/sign`, { method: 'POST', body: commitObject('anyone') });
    assert.equal(r.status, 200, r.text);
  });

  it('a settings change to allow with no token is refused, and nothing is saved or applied', async () => {
    const tp = await startTestProxy({
      SSH_AGENT_PROXY_APPROVAL: 'prompt',
      SSH_AGENT_PROXY_ALLOW_ANY_LOCAL_PROCESS: '',
      SSH_AGENT_PROXY_UPSTREAM: fx.agent.sock,
    });
    assert.throws(
      () => tp.proxy.applySettings({ approval: 'allow' }),
      (e: unknown) => e instanceof ConfigError && /needs at least one client token/.test(e.message),
    );
    assert.equal(tp.proxy.broker.policy, 'prompt');
    assert.equal(existsSync(join(tp.configDir, 'settings.json')), false);
    // With a token the same change applies.
    await createToken(tp.configDir, 'box');
    const applied = tp.proxy.applySettings({ approval: 'allow' });
    assert.deepEqual(applied.applied, ['approval']);
    assert.equal(tp.proxy.broker.policy, 'allow');
  });
});
