// One caller cannot hold every connection: 1,100 silent connections from one loopback
// alias, or 1,000 on the host-local agent socket, while a client with a token signs. The
// proxy is a child process (the built CLI), once with the usual limits and once under
// `prlimit --nofile`, where running out of descriptors is the attack. Real ssh-agent,
// real ssh-add; every socket opened is destroyed by the test.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { agentWithKey, createToken } from '../helpers/fixtures.js';
import { onCleanup, run, tempDir, waitFor } from '../helpers/openssh.js';
import { needsLinux } from '../helpers/platform.js';
import { http, spawnConsole, type ConsoleProxy } from '../helpers/proxy.js';

let agentSock: string;

before(async () => {
  ({
    agent: { sock: agentSock },
  } = await agentWithKey());
});

/** The console proxy under `prlimit --nofile=N:N`, resolved once it listens. */
const spawnLimited = (nofile: number, env: Record<string, string>): Promise<ConsoleProxy> =>
  spawnConsole(env, [], ['prlimit', `--nofile=${nofile}:${nofile}`]);

/** `n` connections that send nothing; resolved once each connected, failed or closed. */
async function silent(
  n: number,
  open: () => Socket,
): Promise<{ socks: Socket[]; closed: () => number }> {
  const socks: Socket[] = [];
  let closedCount = 0;
  const settled: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const s = open();
    socks.push(s);
    onCleanup(() => s.destroy());
    s.on('close', () => closedCount++);
    s.resume();
    settled.push(
      new Promise((resolve) => {
        s.once('connect', () => resolve());
        s.once('error', () => resolve());
        s.once('close', () => resolve());
      }),
    );
  }
  await Promise.all(settled);
  return { socks, closed: () => closedCount };
}

async function signSix(url: string, token: string): Promise<number> {
  let ok = 0;
  for (let i = 0; i < 6; i++) {
    const r = await http(`${url}/sign`, {
      method: 'POST',
      body: `signed under load ${i}\n`,
      headers: { Authorization: `Bearer ${token}`, Connection: 'close' },
    }).catch((err: Error) => ({ status: 0, text: err.message }));
    if (r.status === 200) ok++;
  }
  return ok;
}

const fromAlias = (url: string) => () =>
  connect({ host: '127.0.0.1', port: Number(new URL(url).port), localAddress: '127.0.0.2' });

describe('no one caller holds every connection', { skip: needsLinux('127.0.0.2 on lo') }, () => {
  it('1,100 silent connections from 127.0.0.2: a token client signs 6 of 6; the refusals are logged; the silent ones are dropped', async () => {
    const cfg = tempDir('sap-cfg-');
    const token = await createToken(cfg, 'legit');
    const p = await spawnConsole({ SSH_AUTH_SOCK: agentSock, SSH_AGENT_PROXY_CONFIG_DIR: cfg });
    const flood = await silent(1_100, fromAlias(p.url));
    assert.equal(await signSix(p.url, token), 6);
    await waitFor(
      () => /HTTP connections: \d+ refused and \d+ closed to make room/.test(p.stderr()),
      15_000,
      'the log line about refused connections',
    );
    // Sent nothing: closed by the silent deadline, none held for the header deadline.
    await waitFor(() => flood.closed() === 1_100, 30_000, 'every silent connection to close');
  });

  it('1,100 silent connections from the token client’s own address (one container gateway): it still signs 6 of 6', async () => {
    const cfg = tempDir('sap-cfg-');
    const token = await createToken(cfg, 'legit');
    const p = await spawnConsole({ SSH_AUTH_SOCK: agentSock, SSH_AGENT_PROXY_CONFIG_DIR: cfg });
    const port = Number(new URL(p.url).port);
    await silent(1_100, () => connect({ host: '127.0.0.1', port }));
    assert.equal(await signSix(p.url, token), 6);
  });

  it('under a 256 open-files limit the caps are sized below it: 400 silent connections, and a token client still signs 6 of 6', async () => {
    const cfg = tempDir('sap-cfg-');
    const token = await createToken(cfg, 'legit');
    const p = await spawnLimited(256, {
      SSH_AUTH_SOCK: agentSock,
      SSH_AGENT_PROXY_CONFIG_DIR: cfg,
    });
    await silent(400, fromAlias(p.url));
    assert.equal(await signSix(p.url, token), 6);
    assert.equal(p.child.exitCode, null, 'the proxy is still running');
    assert.match(p.stderr(), /the open-files limit is 256: at most \d+ connections/);
  });

  it('1,000 silent connections on the host-local agent socket: HTTP clients still sign, the socket serves again once they are dropped', async () => {
    const dir = tempDir();
    const sockDir = join(dir, 'agent-dir');
    mkdirSync(sockDir, { mode: 0o700 });
    const local = join(sockDir, 'agent.sock');
    const cfg = tempDir('sap-cfg-');
    const token = await createToken(cfg, 'legit');
    const p = await spawnLimited(512, {
      SSH_AUTH_SOCK: agentSock,
      SSH_AGENT_PROXY_CONFIG_DIR: cfg,
      SSH_AGENT_PROXY_AGENT_SOCKET: local,
    });
    const flood = await silent(1_000, () => connect({ path: local }));
    assert.equal(await signSix(p.url, token), 6);
    // The flood's connections are closed: at once past the cap, the rest when silent too long.
    await waitFor(() => flood.closed() === 1_000, 30_000, 'every silent connection to close');
    const list = await run('ssh-add', ['-l'], {
      env: { PATH: process.env.PATH, SSH_AUTH_SOCK: local },
      timeoutMs: 15_000,
    });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /ED25519/);
    assert.match(p.stderr(), /agent socket connections: \d+ refused/);
  });
});
