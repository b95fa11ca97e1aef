// The shim's agent bridge in the sandboxes it is made for: a PATH of BusyBox applets only
// (Alpine and other small images) plus socat, ssh, ssh-add and git, and Debian's dash with
// GNU coreutils. Real ssh-add, ssh to a real sshd and git over ssh:// through the bridge.
// (BusyBox's `cat` copies a socket into a fifo with sendfile(), which holds the bytes back:
// a relay built on `cat` hangs every connection there.)
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { startShimBridge, upgradeAgent } from '../helpers/agent-bridge.js';
import {
  makeKey,
  run,
  startAgent,
  tempDir,
  waitFor,
  type Agent,
  type TestKey,
} from '../helpers/openssh.js';
import { SHIM, startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { needsSshdAsRoot } from '../helpers/platform.js';
import { sandboxPath, type SandboxBase } from '../helpers/sandbox-path.js';
import { sshArgs, startSshd, type Sshd } from '../helpers/sshd.js';

let dir: string;
let agent: Agent;
let key: TestKey;
let sshd: Sshd;
let knownHosts: string;
let p: TestProxy;
let token: string;

before(async () => {
  if (needsSshdAsRoot) return;
  dir = tempDir();
  agent = await startAgent(dir);
  key = await makeKey(dir, 'ed25519', 'sandbox-key');
  await agent.add(key);
  sshd = await startSshd(dir, [key.line]);
  knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
  p = await startTestProxy({ SSH_AGENT_PROXY_UPSTREAM: agent.sock });
  token = p.proxy.tokens.create('sandbox');
});

const BASES: SandboxBase[] = ['busybox', 'dash+coreutils'];
const LOGIN_TOOLS = ['socat', 'ssh', 'ssh-add', 'git'];

/** ssh-add, ssh and git as the sandbox runs them: its PATH, its HOME, the bridge's socket. */
function inSandbox(path: string, cmd: string, args: string[], sock: string) {
  const home = join(dir, 'home-' + Math.random().toString(36).slice(2));
  mkdirSync(home);
  return run(cmd, args, {
    env: { PATH: path, HOME: home, SSH_AUTH_SOCK: sock },
    timeoutMs: 30_000,
  });
}

describe('the agent bridge in small sandboxes', { skip: needsSshdAsRoot }, () => {
  for (const base of BASES) {
    it(`${base}: ssh-add -l, ssh to sshd and git over ssh:// through the bridge, each connection ending`, async () => {
      const path = sandboxPath(dir, base, LOGIN_TOOLS);
      const bridge = await startShimBridge(dir, p.url, token, join(path, 'sh'), undefined, path);
      const list = await inSandbox(path, 'ssh-add', ['-l'], bridge.sock);
      assert.equal(list.code, 0, list.stderr + bridge.stderr());
      assert.match(list.stdout, new RegExp(key.fingerprint.replace(/[+/]/g, '\\$&')));
      // Several connections one after the other: each one ends, none holds the next back.
      for (let i = 0; i < 3; i++) {
        const login = await inSandbox(
          path,
          'ssh',
          [...sshArgs(sshd, knownHosts, bridge.sock), 'echo', `login-${i}`],
          bridge.sock,
        );
        assert.equal(login.code, 0, login.stderr + bridge.stderr());
        assert.equal(login.stdout.trim(), `login-${i}`);
      }
      const remote = join(dir, `repo-${base.replace(/\W+/g, '-')}.git`);
      await run('git', ['init', '-q', '--bare', remote]);
      const opts = sshArgs(sshd, knownHosts, bridge.sock).slice(0, -3).join(' ');
      const ls = await run(
        'git',
        ['ls-remote', `ssh://${sshd.user}@127.0.0.1:${sshd.port}${remote}`],
        {
          env: { PATH: path, HOME: dir, GIT_SSH_COMMAND: `ssh ${opts}`, GIT_CONFIG_NOSYSTEM: '1' },
          timeoutMs: 30_000,
        },
      );
      assert.equal(ls.code, 0, ls.stderr + bridge.stderr());
      assert.equal(bridge.stderr(), '', 'a relay that ended normally says nothing');
      await bridge.stop();
    });
  }

  for (const base of BASES) {
    it(`${base}: a connection the proxy refuses (401, 429) prints the proxy's one-line reason on the bridge's stderr`, async () => {
      const path = sandboxPath(dir, base, ['socat', 'ssh-add']);
      const mine = p.proxy.tokens.create(`refused-${base.replace(/\W+/g, '-')}`);
      const bridge = await startShimBridge(dir, p.url, mine, join(path, 'sh'), undefined, path);
      // 429: this client already holds every agent connection it may.
      const held = [];
      for (let i = 0; i < 32; i++) {
        const r = await upgradeAgent(`${p.url}/agent`, { Authorization: `Bearer ${mine}` });
        assert.equal(r.status, 101);
        held.push(r.socket);
      }
      const busy = await inSandbox(path, 'ssh-add', ['-l'], bridge.sock);
      assert.notEqual(busy.code, 0);
      assert.match(busy.stderr, /communication with agent failed/);
      await waitFor(() => bridge.stderr().includes('\n'), 10_000, 'the refusal line');
      assert.match(
        bridge.stderr(),
        /^ssh-agent-proxy-sign: agent: too-many-connections: [^\n]+\n$/,
      );
      for (const s of held) s.destroy();
      // 401: the token revoked after the bridge started.
      p.proxy.revokeToken(`refused-${base.replace(/\W+/g, '-')}`);
      const before = bridge.stderr();
      const revoked = await inSandbox(path, 'ssh-add', ['-l'], bridge.sock);
      assert.notEqual(revoked.code, 0);
      await waitFor(
        () => bridge.stderr().length > before.length && bridge.stderr().endsWith('\n'),
        10_000,
        'the refusal line',
      );
      assert.match(
        bridge.stderr().slice(before.length),
        /^ssh-agent-proxy-sign: agent: token-revoked: [^\n]+\n$/,
      );
      await bridge.stop();
    });
  }

  for (const base of BASES) {
    it(`${base}: a bridge whose token is refused at start says so in one line and exits 1`, async () => {
      const path = sandboxPath(dir, base, ['socat']);
      const r = await run(join(path, 'sh'), [SHIM, 'agent', join(dir, 'never.sock')], {
        env: {
          PATH: path,
          HOME: dir,
          SSH_AGENT_PROXY_URL: `${p.url}/sign`,
          SSH_AGENT_PROXY_TOKEN: 'sap_not-a-real-token',
        },
        timeoutMs: 30_000,
      });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^ssh-agent-proxy-sign: agent: the proxy refused: bad-token: [^\n]+\n$/,
      );
      assert.equal(r.stdout, '', 'no SSH_AUTH_SOCK line');
    });
  }
});
