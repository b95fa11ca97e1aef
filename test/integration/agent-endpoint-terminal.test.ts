// An SSH login approved at a real terminal: the built `--console` proxy in a pseudo-terminal
// (`script`), the shim's agent bridge, a real sshd. The prompt and the audit file name the
// destination from known_hosts; y lets ssh in, n gives Permission denied (publickey).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { TokenStore } from '../../src/core/approval/token-store.js';
import { startShimBridge } from '../helpers/agent-bridge.js';
import { agentWithKey } from '../helpers/fixtures.js';
import { onCleanup, run, waitFor, type Agent, type TestKey } from '../helpers/openssh.js';
import { CLI } from '../helpers/proxy.js';
import { sshArgs, startSshd, type Sshd } from '../helpers/sshd.js';
import { needsSshdAsRoot } from '../helpers/platform.js';

let dir: string;
let agent: Agent;
let key: TestKey;
let sshd: Sshd;
let knownHosts: string;

before(async () => {
  if (needsSshdAsRoot) return;
  ({ dir, agent, key } = await agentWithKey('ed25519', 'login-key'));
  sshd = await startSshd(dir, [key.line]);
  knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
});

describe('SSH login approved in the terminal prompter', { skip: needsSshdAsRoot }, () => {
  it('shows user, host and host key; y logs in, n is Permission denied; the audit names the host', async () => {
    const configDir = join(dir, 'cfg');
    const token = new TokenStore(configDir).create('sandbox1', { keys: [key.fingerprint] });
    const child = spawn('script', ['-qfec', `${process.execPath} ${CLI} --console`, '/dev/null'], {
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        TERM: 'dumb',
        SSH_AUTH_SOCK: agent.sock,
        SSH_AGENT_PROXY_ADDR: '127.0.0.1:0',
        SSH_AGENT_PROXY_CONFIG_DIR: configDir,
        SSH_AGENT_PROXY_KNOWN_HOSTS: knownHosts,
      },
    });
    onCleanup(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let screen = '';
    child.stdout.on('data', (c: Buffer) => (screen += c.toString()));
    child.stderr.on('data', (c: Buffer) => (screen += c.toString()));
    await waitFor(() => /listening on http:\/\/\S+/.test(screen), 10_000, 'the proxy');
    const url = /listening on (http:\/\/\S+)/.exec(screen)![1]!.replace(/\s.*$/, '');
    const bridge = await startShimBridge(dir, url, token);
    const ssh = () =>
      run('ssh', [...sshArgs(sshd, knownHosts, bridge.sock), 'echo', 'in'], {
        env: { PATH: process.env.PATH, HOME: join(dir, 'sandbox-home') },
        timeoutMs: 60_000,
      });
    const headline = `SSH login as ${sshd.user} to [127.0.0.1]:${sshd.port} (host key ${sshd.hostKey.fingerprint})`;

    const first = ssh();
    await waitFor(() => screen.includes(headline), 15_000, 'the login prompt');
    const prompt = screen.slice(screen.lastIndexOf('Approve'));
    assert.match(prompt, /^Approve SSH login\? \(1 of 1\)/);
    assert.ok(prompt.includes('(this client, key, destination)'), 'the grant names its scope');
    assert.match(prompt, /From\s+sandbox1 \(token, /);
    assert.match(prompt, new RegExp(`Host\\s+\\[127\\.0\\.0\\.1\\]:${sshd.port}`));
    assert.ok(prompt.includes(key.fingerprint), 'the login key is shown');
    await new Promise((r) => setTimeout(r, 700)); // past the arming delay, as a person reading would be
    child.stdin.write('y');
    const r1 = await first;
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(r1.stdout.trim(), 'in');

    const shown = screen.split(headline).length - 1;
    const second = ssh();
    await waitFor(() => screen.split(headline).length - 1 > shown, 15_000, 'the second prompt');
    await new Promise((r) => setTimeout(r, 700));
    child.stdin.write('n');
    const r2 = await second;
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /Permission denied \(publickey\)/);

    const exited = new Promise((r) => child.once('exit', r));
    child.stdin.write('\x03');
    await exited;
    const audit = readFileSync(join(configDir, 'logs', 'audit.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { what: string; outcome: string; namespace: string });
    assert.deepEqual(
      audit.map((a) => [a.outcome, a.what, a.namespace]),
      [
        ['ok', headline, `ssh:[127.0.0.1]:${sshd.port}`],
        ['denied-by-user', headline, `ssh:[127.0.0.1]:${sshd.port}`],
      ],
    );
  });
});
