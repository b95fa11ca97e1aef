// A live settings change is checked on the values in force once it is applied, not on the
// patch alone. `approval` applies at once; the consent `allowAnyLocalProcess` is read only
// at start (and a flag or environment variable may shadow it). A patch carrying `approval:
// allow` and the consent phrase would otherwise pass the "allow needs a token" check while
// the running proxy holds no consent: a state start-up refuses (exit 2), in which any
// anonymous local caller would sign with no prompt and no token.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/core/config/config.js';
import { silentLogger } from '../../src/core/logger.js';
import { startProxy } from '../../src/core/proxy.js';
import { ANY_LOCAL_PROCESS_CONSENT } from '../../src/core/config/settings-spec.js';
import { refuseUnattendedAllowForAnyone } from '../../src/core/approval/unattended-allow.js';
import { agentWithKey, commitObject } from '../helpers/fixtures.js';
import { onCleanup, tempDir, type Agent } from '../helpers/openssh.js';
import { http, SHIM, startTestProxy, type TestProxy } from '../helpers/proxy.js';

let agent: Agent;
before(async () => {
  ({ agent } = await agentWithKey());
});

const allowWithConsent = { approval: 'allow', allowAnyLocalProcess: ANY_LOCAL_PROCESS_CONSENT };

/** Start-up's own check, on the running proxy's state: the two must never disagree. */
function startUpWouldRefuse(tp: TestProxy): boolean {
  const { config, broker, tokens } = tp.proxy;
  try {
    refuseUnattendedAllowForAnyone(
      {
        policy: broker.policy,
        allowAnyLocalProcess: config.allowAnyLocalProcess,
        usableTokens: tokens.usable().length,
      },
      'approval',
    );
    return false;
  } catch {
    return true;
  }
}

/** A tokenless proxy under `prompt`, in this process, with these command-line flags. */
async function tokenlessPromptProxy(flags: Record<string, string>): Promise<TestProxy> {
  const configDir = tempDir('sap-cfg-');
  const config = loadConfig({
    env: {
      SSH_AGENT_PROXY_ADDR: '127.0.0.1:0',
      SSH_AGENT_PROXY_APPROVAL: 'prompt',
      SSH_AGENT_PROXY_CONFIG_DIR: configDir,
      SSH_AGENT_PROXY_UPSTREAM: agent.sock,
    },
    flags,
  });
  const proxy = await startProxy({
    config,
    log: silentLogger,
    shimText: readFileSync(SHIM, 'utf8'),
  });
  onCleanup(() => proxy.close(100));
  return { proxy, url: proxy.url(), configDir };
}

describe('approval allow without a token through a live settings change', () => {
  for (const [how, flags] of [
    ['read only at start', {}],
    ['read only at start, and shadowed by a flag', { 'allow-any-local-process': '' }],
  ] as const) {
    it(`a patch naming the consent (${how}) cannot switch a tokenless proxy to allow`, async () => {
      const tp = await tokenlessPromptProxy(flags);
      assert.equal(tp.proxy.config.allowAnyLocalProcess, false);
      assert.throws(
        () => tp.proxy.applySettings(allowWithConsent),
        (e: unknown) =>
          e instanceof ConfigError &&
          /^approval: approval "allow" needs at least one client token/.test(e.message),
      );
      assert.equal(tp.proxy.broker.policy, 'prompt');
      assert.equal(existsSync(join(tp.configDir, 'settings.json')), false, 'nothing saved');
      assert.equal(startUpWouldRefuse(tp), false);
      const r = await http(`${tp.url}/sign`, { method: 'POST', body: commitObject('anyone') });
      assert.equal(r.status, 403, r.text);
      assert.match(r.text, /^no-approver: /);
      // The consent alone is saved for the next start (it changes nothing running).
      const saved = tp.proxy.applySettings({ allowAnyLocalProcess: ANY_LOCAL_PROCESS_CONSENT });
      assert.deepEqual(saved.restartNeeded, ['allowAnyLocalProcess']);
      assert.equal(tp.proxy.config.allowAnyLocalProcess, false);
    });
  }

  it('with the consent in force since start, the same patch applies', async () => {
    const tp = await startTestProxy({
      SSH_AGENT_PROXY_APPROVAL: 'prompt',
      SSH_AGENT_PROXY_ALLOW_ANY_LOCAL_PROCESS: ANY_LOCAL_PROCESS_CONSENT,
      SSH_AGENT_PROXY_UPSTREAM: agent.sock,
    });
    const res = tp.proxy.applySettings(allowWithConsent);
    assert.deepEqual(res.applied, ['approval']);
    assert.deepEqual(res.restartNeeded, ['allowAnyLocalProcess']);
    assert.equal(tp.proxy.broker.policy, 'allow');
    assert.equal(startUpWouldRefuse(tp), false);
    const r = await http(`${tp.url}/sign`, { method: 'POST', body: commitObject('anyone') });
    assert.equal(r.status, 200, r.text);
  });
});
