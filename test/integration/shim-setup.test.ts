// The container steps, followed literally: the README's "In a container" commands and the
// lines `setup` prints (and the tray's Container setup tab shows), run as written in a
// fresh sandbox HOME, end with `git log --show-signature` saying Good signature. Only the
// host (the sandbox's name for the proxy's address) and the install directory are swapped.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { containerSetup } from '../../src/core/config/container-setup.js';
import { agentWithKey, createToken, type AgentWithKey } from '../helpers/fixtures.js';
import { run } from '../helpers/openssh.js';
import { spawnConsole } from '../helpers/proxy.js';
import { needsPosixShell } from '../helpers/platform.js';
import { readmeContainerSteps } from '../helpers/container-steps.js';

let a: AgentWithKey;

before(async () => {
  a = await agentWithKey();
});

/** Runs `script` with sh in a fresh HOME (install dir and proxy host swapped), then commits. */
async function followLiterally(
  name: string,
  script: string,
  proxyUrl: string,
  env: NodeJS.ProcessEnv = {},
) {
  const home = join(a.dir, name);
  const bin = join(home, 'bin');
  mkdirSync(bin, { recursive: true });
  const { host } = new URL(proxyUrl);
  const swapped = script
    .replaceAll('/usr/local/bin/', `${bin}/`)
    .replace(/host\.(docker|containers)\.internal:\d+/g, host);
  const sandboxEnv: NodeJS.ProcessEnv = {
    PATH: `${bin}:${process.env.PATH}`,
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    ...env,
  };
  const setup = await run('sh', ['-e', '-c', `${swapped}\nexport -p > "$HOME/env.sh"`], {
    env: sandboxEnv,
    cwd: home,
  });
  assert.equal(setup.code, 0, `${setup.stderr}\n---\n${swapped}`);
  // The exports the steps made carry over to the next commands, as in the same shell.
  const steps = `. "$HOME/env.sh"\ncd "$HOME" && git init -q repo && cd repo\ngit commit -q --allow-empty -m "first signed commit"\ngit log --show-signature -1`;
  return run('sh', ['-e', '-c', steps], { env: sandboxEnv, cwd: home });
}

describe('the container steps, followed literally', { skip: needsPosixShell }, () => {
  it("the README's steps end with Good signature", async () => {
    const proxy = await spawnConsole({
      SSH_AUTH_SOCK: a.agent.sock,
      SSH_AGENT_PROXY_CONFIG_DIR: join(a.dir, 'cfg-readme'),
    });
    const r = await followLiterally('readme', readmeContainerSteps(), proxy.url);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `Good "git" signature for ana@example\\.com with ED25519 key ${a.key.fingerprint.replace(/[+/]/g, '\\$&')}`,
      ),
    );
    await proxy.stop();
  });

  for (const runtime of ['docker-desktop', 'podman'] as const) {
    it(`\`setup --runtime ${runtime}\`'s lines end with Good signature, with a token`, async () => {
      const cfg = join(a.dir, `cfg-${runtime}`);
      const token = await createToken(cfg, 'box1');
      const proxy = await spawnConsole({
        SSH_AUTH_SOCK: a.agent.sock,
        SSH_AGENT_PROXY_CONFIG_DIR: cfg,
      });
      const port = Number(new URL(proxy.url).port);
      const lines = containerSetup({
        runtime,
        port,
        bindHost: '127.0.0.1',
        tokenName: 'box1',
        token,
      });
      const identity =
        'git config --global user.name "Ana Example"\ngit config --global user.email ana@example.com\n';
      const r = await followLiterally(`setup-${runtime}`, identity + lines, proxy.url);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Good "git" signature for ana@example\.com with ED25519 key/);
      await proxy.stop();
    });
  }

  it('without the token itself, the lines still paste cleanly and name what is missing', async () => {
    const cfg = join(a.dir, 'cfg-notoken');
    await createToken(cfg, 'box1');
    const proxy = await spawnConsole({
      SSH_AUTH_SOCK: a.agent.sock,
      SSH_AGENT_PROXY_CONFIG_DIR: cfg,
    });
    const lines = containerSetup({
      runtime: 'docker-desktop',
      port: Number(new URL(proxy.url).port),
      bindHost: '127.0.0.1',
      tokenName: 'box1',
    });
    assert.doesNotMatch(
      lines,
      /^export SSH_AGENT_PROXY_TOKEN=/m,
      'no placeholder that breaks when pasted',
    );
    const home = join(a.dir, 'notoken');
    mkdirSync(join(home, 'bin'), { recursive: true });
    const swapped = lines
      .replaceAll('/usr/local/bin/', `${home}/bin/`)
      .replace(/host\.docker\.internal:\d+/g, new URL(proxy.url).host);
    const r = await run(
      'sh',
      ['-c', `git config --global user.email ana@example.com\n${swapped}`],
      {
        env: { PATH: `${home}/bin:${process.env.PATH}`, HOME: home, GIT_CONFIG_NOSYSTEM: '1' },
      },
    );
    assert.match(
      r.stderr,
      /ssh-agent-proxy-sign: token-required: .*SSH_AGENT_PROXY_TOKEN.* \(HTTP 401\)/,
    );
    await proxy.stop();
  });
});
