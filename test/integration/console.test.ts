// The `--console` process: start-up errors and exit codes, clean shutdown, address fallback.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { makeKey, run, startAgent, tempDir, waitFor, type Agent } from '../helpers/openssh.js';
import { CLI, http, spawnConsole } from '../helpers/proxy.js';
import { needsPosixSignals } from '../helpers/platform.js';
import { writeFileSync, mkdirSync } from 'node:fs';

let agent: Agent;
let dir: string;

before(async () => {
  dir = tempDir();
  agent = await startAgent(dir);
  await agent.add(await makeKey(dir, 'ed25519'));
});

function cli(args: string[], env: Record<string, string>) {
  return run(process.execPath, [CLI, ...args], {
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      SSH_AGENT_PROXY_CONFIG_DIR: join(dir, 'cfg'),
      ...env,
    },
    timeoutMs: 10_000,
  });
}

describe('start-up', () => {
  it('--help and --version', async () => {
    const h = await cli(['--help'], {});
    assert.equal(h.code, 0);
    assert.match(h.stdout, /SSH_AGENT_PROXY_ADDR/);
    const v = await cli(['--version'], {});
    assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  it('setup prints the lines for a sandbox, for the configured port and runtime', async () => {
    const r = await cli(['setup', '--runtime', 'docker-linux'], {
      SSH_AGENT_PROXY_ADDR: '127.0.0.1:7555',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^curl -fsS http:\/\/host\.docker\.internal:7555\/shim -o \/usr\/local\/bin\/ssh-agent-proxy-sign$/m,
    );
    assert.match(r.stdout, /--add-host=host\.docker\.internal:host-gateway/);
    assert.equal((await cli(['setup', '--runtime', 'lxc'], {})).code, 2);
  });

  it('an invalid value exits 2 naming the setting', async () => {
    const cases: [Record<string, string>, string[], RegExp][] = [
      [
        { SSH_AGENT_PROXY_ADDR: 'nonsense' },
        [],
        /SSH_AGENT_PROXY_ADDR: "nonsense" is not HOST:PORT/,
      ],
      [{ SSH_AGENT_PROXY_NAMESPACE: 'a b' }, [], /SSH_AGENT_PROXY_NAMESPACE: /],
      [{ SSH_AGENT_PROXY_PUBKEY: 'ssh-ed25519 notbase64!' }, [], /SSH_AGENT_PROXY_PUBKEY: /],
      [
        { SSH_AGENT_PROXY_PUBKEY_FILE: '/nonexistent.pub' },
        [],
        /SSH_AGENT_PROXY_PUBKEY_FILE: cannot read \/nonexistent\.pub/,
      ],
      [{ SSH_AGENT_PROXY_SIGN_TIMEOUT: '-3' }, [], /SSH_AGENT_PROXY_SIGN_TIMEOUT: /],
      [{}, ['--console', '--max-body', 'huge'], /--max-body: "huge" is not a size/],
      [
        {},
        ['--console', '--bogus'],
        /^ssh-agent-proxy: unknown option --bogus; did you mean --[a-z-]+\? \(see ssh-agent-proxy --help\)\n$/,
      ],
    ];
    for (const [env, args, msg] of cases) {
      const r = await cli(args.length ? args : ['--console'], env);
      assert.equal(r.code, 2, `${JSON.stringify(env)} ${args}: ${r.stderr}`);
      assert.match(r.stderr, msg);
    }
  });

  it('a broken settings file exits 2 naming the file; settings < env < flags', async () => {
    const cfg = join(dir, 'cfg-bad');
    mkdirSync(cfg, { recursive: true });
    writeFileSync(join(cfg, 'settings.json'), '{ not json');
    const r = await cli(['--console'], { SSH_AGENT_PROXY_CONFIG_DIR: cfg });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /settings\.json: is not valid JSON/);
  });

  it('a port in use is a clear error (exit 1)', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const r = await cli(['--console'], {
      SSH_AUTH_SOCK: agent.sock,
      SSH_AGENT_PROXY_ADDR: `127.0.0.1:${port}`,
    });
    blocker.close();
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`127\\.0\\.0\\.1:${port} is already in use`));
  });

  it('says loudly when policy allow signs without asking, and when no one can approve', async (t) => {
    if (needsPosixSignals) return t.skip(needsPosixSignals);
    const p = await spawnConsole({
      SSH_AUTH_SOCK: agent.sock,
      SSH_AGENT_PROXY_CONFIG_DIR: join(dir, 'cfg'),
    });
    assert.match(
      p.stderr(),
      /UNATTENDED: approval policy "allow" signs every request without asking/,
    );
    assert.match(
      p.stderr(),
      new RegExp(`agent: ${agent.sock.replace(/[.]/g, '\\.')} \\(SSH_AUTH_SOCK\\)`),
    );
    assert.equal(await p.stop('SIGINT'), 0, p.stderr());
    const q = await spawnConsole({
      SSH_AUTH_SOCK: agent.sock,
      SSH_AGENT_PROXY_APPROVAL: 'prompt',
      SSH_AGENT_PROXY_CONFIG_DIR: join(dir, 'cfg'),
    });
    assert.match(
      q.stderr(),
      /stdin is not a terminal: every request will be denied \(no-approver\)/,
    );
    const res = await http(`${q.url}/sign`, { method: 'POST', body: 'x' });
    assert.equal(res.status, 403);
    assert.match(res.text, /^no-approver: /);
    assert.equal(await q.stop('SIGTERM'), 0);
  });
});

describe('shutdown and fallback', () => {
  it('SIGTERM lets an in-flight request finish, then exits 0', async (t) => {
    if (needsPosixSignals) return t.skip(needsPosixSignals);
    const liarDir = tempDir();
    const { startLyingAgent } = await import('../helpers/lying-agent.js');
    const liar = await startLyingAgent(liarDir);
    liar.lie = 'hang';
    const p = await spawnConsole({
      SSH_AGENT_PROXY_UPSTREAM: liar.sock,
      SSH_AGENT_PROXY_SIGN_TIMEOUT: '2',
      SSH_AGENT_PROXY_CONFIG_DIR: join(dir, 'cfg'),
    });
    const inflight = http(`${p.url}/sign`, { method: 'POST', body: 'x' });
    // In flight = the agent has been asked to sign (SSH_AGENTC_SIGN_REQUEST, 13) and hangs.
    await waitFor(() => liar.received.includes(13), 10_000, 'the sign request at the agent');
    const exit = p.stop('SIGTERM');
    const res = await inflight;
    assert.equal(res.status, 504, 'the in-flight request got its answer');
    assert.equal(await exit, 0);
    assert.match(p.stderr(), /SIGTERM: shutting down/);
  });

  it('binding beyond loopback without a client token refuses to start (exit 2)', async () => {
    const r = await cli(['--console'], {
      SSH_AUTH_SOCK: agent.sock,
      SSH_AGENT_PROXY_ADDR: '0.0.0.0:0',
      SSH_AGENT_PROXY_CONFIG_DIR: join(dir, 'cfg-notoken'),
    });
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /SSH_AGENT_PROXY_ADDR: listening on 0\.0\.0\.0 \(beyond loopback\) needs at least one client token; create one with: ssh-agent-proxy token create NAME/,
    );
  });

  it('an address that is not available falls back to 127.0.0.1 and says so', async () => {
    const cfg = join(dir, 'cfg-fallback');
    assert.equal((await cli(['token', 'create', 'box', '--config-dir', cfg], {})).code, 0);
    // 192.0.2.1 (TEST-NET-1) is on no interface here: bind fails with EADDRNOTAVAIL; no traffic is sent.
    const child = spawn(process.execPath, [CLI, '--console'], {
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        SSH_AUTH_SOCK: agent.sock,
        SSH_AGENT_PROXY_ADDR: '192.0.2.1:0',
        SSH_AGENT_PROXY_CONFIG_DIR: cfg,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c));
    const end = Date.now() + 10_000;
    while (!/listening on http:\/\/\S+/.test(err) && Date.now() < end)
      await new Promise((r) => setTimeout(r, 20));
    try {
      assert.match(
        err,
        /192\.0\.2\.1:0 is not available yet; serving on 127\.0\.0\.1:\d+ and retrying every 10 s/,
      );
      const url = /listening on (http:\/\/\S+)/.exec(err)![1]!;
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal((await http(`${url}/healthz`)).status, 200);
      assert.equal(
        (await http(`${url}/publickey`)).status,
        401,
        'tokens exist, so one is required',
      );
    } finally {
      child.kill('SIGTERM');
    }
  });
});
