// The CLI as a person types it: per-command help, one-line usage errors naming the nearest
// flag, global flags anywhere, `audit --tail/--follow`, `setup` checks, an unwritable config
// dir, and SIGTERM to `npm run console`. Every case spawns the built CLI.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { agentWithKey, commitObject, createToken } from '../helpers/fixtures.js';
import { onCleanup, run, tempDir, waitFor, type Agent } from '../helpers/openssh.js';
import { ANY_LOCAL_PROCESS, CLI, http, spawnConsole } from '../helpers/proxy.js';

let dir: string;
let agent: Agent;

before(async () => {
  ({ dir, agent } = await agentWithKey());
});

function cli(args: string[], env: Record<string, string> = {}) {
  return run(process.execPath, [CLI, ...args], {
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      SSH_AGENT_PROXY_CONFIG_DIR: join(dir, 'cfg-default'),
      ...env,
    },
    // A spin (100% CPU, never exiting) shows up as this timeout: code -1.
    timeoutMs: 15_000,
  });
}

const NO_STACK = /^\s+at |Error:|node:internal/m;

describe('help and usage errors', () => {
  it('COMMAND --help prints that command’s usage', async () => {
    const cases: [string[], RegExp][] = [
      [['token', 'create', '--help'], /^ {2}ssh-agent-proxy token create NAME .*--expires/m],
      [['audit', '--help'], /^ {2}ssh-agent-proxy audit \[--tail \[N\]\] \[--follow\]$/m],
      [
        ['setup', '--help'],
        /^ {2}ssh-agent-proxy setup \[--runtime .*\] \[--token NAME\] \[--addr/m,
      ],
      [['token', '--help'], /^ {2}ssh-agent-proxy token revoke NAME$/m],
      [['token', 'list', '-h'], /^ {2}ssh-agent-proxy token list$/m],
    ];
    for (const [args, line] of cases) {
      const r = await cli(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /^Usage:\n/, args.join(' '));
      assert.match(r.stdout, line, args.join(' '));
      assert.doesNotMatch(r.stdout, /SSH_AGENT_PROXY_ADDR/, 'not the whole usage');
      assert.equal(r.stderr, '');
    }
  });

  it('an unknown flag or command: one line naming it and the nearest valid one, exit 2', async () => {
    const cases: [string[], string][] = [
      [
        ['--console', '--log-levl', 'debug'],
        'unknown option --log-levl; did you mean --log-level?',
      ],
      [['--log-levl', 'debug'], 'unknown option --log-levl; did you mean --log-level?'],
      [['audit', '--tial', '5'], 'unknown option --tial; did you mean --tail?'],
      [
        ['token', 'create', 'box', '--gitonly'],
        'unknown option --gitonly; did you mean --git-only?',
      ],
      [['setup', '--runtme', 'podman'], 'unknown option --runtme; did you mean --runtime?'],
      [
        ['--config-dir', '/tmp/x', 'token', 'lst'],
        'unknown token command "lst"; did you mean "token list"?',
      ],
      [['audt'], 'unknown command "audt"; did you mean "audit"?'],
      [['setup', '--runtime', 'podmn'], '--runtime podmn: expected one of'],
      [['audit', '--tail', 'lots'], '--tail lots: expected a positive whole number'],
    ];
    for (const [args, msg] of cases) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
      assert.ok(lines[0]!.startsWith(`ssh-agent-proxy: ${msg}`), `${args.join(' ')}: ${r.stderr}`);
      assert.match(lines[0]!, /\(see ssh-agent-proxy [a-z ]*--help\)$/);
      assert.doesNotMatch(r.stderr, NO_STACK);
      assert.equal(r.stdout, '');
    }
  });

  it('--expires 0d creates no token', async () => {
    const cfg = join(dir, 'cfg-expires');
    const r = await cli(['token', 'create', 'box', '--expires', '0d', '--config-dir', cfg]);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
    assert.match(r.stderr, /0d/);
    assert.equal(r.stdout, '', 'no token printed');
    assert.match((await cli(['token', 'list', '--config-dir', cfg])).stdout, /^no client tokens/);
  });

  it('global flags work before or after the command', async () => {
    const cfg = join(dir, 'cfg-global');
    assert.equal((await cli(['--config-dir', cfg, 'token', 'create', 'box1'])).code, 0);
    for (const args of [
      ['--config-dir', cfg, 'token', 'list'],
      ['token', '--config-dir', cfg, 'list'],
      ['token', 'list', `--config-dir=${cfg}`],
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^box1\tactive\t/m, args.join(' '));
    }
    // The environment's dir (no box1 there) is what --config-dir overrode.
    assert.doesNotMatch((await cli(['token', 'list'])).stdout, /box1/);
    // A setting flag before the command, and after it.
    for (const args of [
      ['--addr', '127.0.0.1:7555', 'setup', '--config-dir', cfg, '--token', 'box1'],
      ['setup', '--token', 'box1', '--config-dir', cfg, '--addr', '127.0.0.1:7555'],
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /^export SSH_AGENT_PROXY_URL=http:\/\/host\.docker\.internal:7555\/sign$/m,
      );
    }
  });
});

describe('setup', () => {
  it('refuses a token that does not exist or cannot sign, and asks which when tokens are required', async () => {
    const cfg = join(dir, 'cfg-setup');
    const missing = await cli(['setup', '--token', 'nobody', '--config-dir', cfg]);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /setup --token nobody: no token by that name; create one with: ssh-agent-proxy token create nobody/,
    );
    assert.equal(missing.stdout, '', 'no lines to paste');

    await createToken(cfg, 'gone');
    assert.equal((await cli(['token', 'revoke', 'gone', '--config-dir', cfg])).code, 0);
    const revoked = await cli(['setup', '--token', 'gone', '--config-dir', cfg]);
    assert.equal(revoked.code, 1);
    assert.match(revoked.stderr, /setup --token gone: that token is revoked/);

    // No --token, while the proxy requires one: the lines would not work.
    await createToken(cfg, 'box2');
    const which = await cli(['setup', '--config-dir', cfg]);
    assert.equal(which.code, 1);
    assert.match(
      which.stderr,
      /requires a client token; say which with --token NAME \(active: box2\)/,
    );

    const ok = await cli(['setup', '--token', 'box2', '--runtime', 'podman', '--config-dir', cfg]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /http:\/\/host\.containers\.internal:7221\/shim/);
    // Every line that runs when pasted is real: placeholders only ever sit in comments.
    for (const line of ok.stdout.split('\n').filter((l) => l && !l.trimStart().startsWith('#')))
      assert.doesNotMatch(line, /…|<[^>]*>/, line);
  });
});

describe('audit', () => {
  it('--tail defaults to 20; --follow prints each new record', async () => {
    const cfg = join(dir, 'cfg-audit');
    const env = { SSH_AUTH_SOCK: agent.sock, SSH_AGENT_PROXY_CONFIG_DIR: cfg };
    const p = await spawnConsole(env);
    for (let i = 0; i < 23; i++) {
      const r = await http(`${p.url}/sign`, { method: 'POST', body: commitObject(`tail ${i}`) });
      assert.equal(r.status, 200, r.text);
    }
    assert.equal(await p.stop(), 0);

    const lines = (s: string) => s.split('\n').filter(Boolean);
    for (const args of [['audit'], ['audit', '--tail']]) {
      const r = await cli([...args, '--config-dir', cfg]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(lines(r.stdout).length, 20, args.join(' '));
      assert.match(lines(r.stdout).at(-1)!, /200 ok .*"tail 22"/);
      assert.match(lines(r.stdout)[0]!, /"tail 3"/);
    }
    const three = await cli(['audit', '--tail', '3', '--config-dir', cfg]);
    assert.deepEqual(
      lines(three.stdout).map((l) => /"tail (\d+)"/.exec(l)?.[1]),
      ['20', '21', '22'],
    );

    const follow = spawn(process.execPath, [CLI, 'audit', '--follow', '--tail', '2'], {
      env: { PATH: process.env.PATH, HOME: dir, SSH_AGENT_PROXY_CONFIG_DIR: cfg },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onCleanup(() => {
      if (follow.exitCode === null) follow.kill('SIGKILL');
    });
    let out = '';
    follow.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => follow.on('exit', (code) => r(code)));
    await waitFor(() => out.includes('"tail 22"'), 10_000, 'the tail before following');
    assert.equal(lines(out).length, 2);

    const q = await spawnConsole(env);
    const r = await http(`${q.url}/sign`, { method: 'POST', body: commitObject('followed live') });
    assert.equal(r.status, 200);
    await waitFor(() => out.includes('"followed live"'), 10_000, 'the new record in --follow');
    assert.match(lines(out).at(-1)!, /200 ok .*allowed by policy .*"followed live"/);
    assert.equal(lines(out).length, 3, 'each record once');
    assert.equal(await q.stop(), 0);
    follow.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});

describe('start-up failures', () => {
  it('a config dir that cannot be written: exit 2, one line naming the setting, nothing listening', async () => {
    const notADir = join(dir, 'cfg-logs-is-a-file');
    mkdirSync(notADir, { recursive: true });
    writeFileSync(join(notADir, 'logs'), 'a file where the logs folder goes');
    const cases: [string[], Record<string, string>, RegExp][] = [
      [
        ['--console'],
        { SSH_AGENT_PROXY_CONFIG_DIR: '/proc/x' },
        /^ssh-agent-proxy: SSH_AGENT_PROXY_CONFIG_DIR: cannot create the folder \/proc\/x: /,
      ],
      [
        ['--console', '--config-dir', '/proc/x/y'],
        {},
        /^ssh-agent-proxy: --config-dir: cannot create the folder \/proc\/x: /,
      ],
      [
        ['--console'],
        { SSH_AGENT_PROXY_CONFIG_DIR: notADir },
        /^ssh-agent-proxy: SSH_AGENT_PROXY_CONFIG_DIR: .*logs is not a folder/,
      ],
      [
        ['token', 'create', 'box'],
        { SSH_AGENT_PROXY_CONFIG_DIR: '/proc/x' },
        /^ssh-agent-proxy: SSH_AGENT_PROXY_CONFIG_DIR: cannot create the folder \/proc\/x: /,
      ],
    ];
    for (const [args, env, msg] of cases) {
      const r = await cli(args, {
        SSH_AUTH_SOCK: agent.sock,
        SSH_AGENT_PROXY_ADDR: '127.0.0.1:0',
        ...env,
      });
      assert.equal(r.code, 2, `${args.join(' ')} ${JSON.stringify(env)}: ${r.stderr}`);
      assert.match(r.stderr, msg);
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, NO_STACK);
      assert.doesNotMatch(r.stderr, /listening on/, 'the proxy never started');
    }
  });

  it('SIGTERM to `npm run console` stops the proxy too (no orphan still listening)', async () => {
    // npm runs a script as `sh -c '…'`; like the project's own "console" script, this one
    // does not exec the CLI, so the shell dies on npm's SIGTERM and the CLI must notice.
    const project = tempDir();
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'console-under-npm',
        private: true,
        scripts: { console: `true && "${process.execPath}" "${CLI}" --console` },
      }),
    );
    const npm = spawn('npm', ['run', 'console'], {
      cwd: project,
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        SSH_AUTH_SOCK: agent.sock,
        SSH_AGENT_PROXY_ADDR: '127.0.0.1:0',
        SSH_AGENT_PROXY_APPROVAL: 'allow',
        ...ANY_LOCAL_PROCESS,
        SSH_AGENT_PROXY_CONFIG_DIR: join(dir, 'cfg-npm'),
        npm_config_update_notifier: 'false',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    onCleanup(() => {
      try {
        process.kill(-npm.pid!, 'SIGKILL'); // the whole group, whatever is left of it
      } catch {
        // already gone
      }
    });
    let err = '';
    npm.stderr.on('data', (c: Buffer) => (err += c.toString()));
    npm.stdout.resume();
    await waitFor(() => /listening on http:\/\/\S+/.test(err), 20_000, 'the proxy under npm');
    const url = /listening on (http:\/\/\S+)/.exec(err)![1]!;
    assert.equal((await http(`${url}/healthz`)).status, 200);
    npm.kill('SIGTERM');
    let refused = false;
    const end = Date.now() + 15_000;
    while (!refused && Date.now() < end) {
      try {
        await http(`${url}/healthz`);
        await new Promise((r) => setTimeout(r, 50));
      } catch (e) {
        refused = (e as NodeJS.ErrnoException).code === 'ECONNREFUSED';
      }
    }
    assert.ok(refused, `the proxy still listens after npm got SIGTERM: ${err}`);
    await waitFor(() => /stopped/.test(err), 5_000, 'the proxy to say it stopped');
  });
});
