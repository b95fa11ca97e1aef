// A 1,000-commit `git rebase -f --root` with commit.gpgsign=true, through the shim and the
// built `--console` proxy with a client token and default limits: it completes, and git
// reports every commit's signature good. Once with policy `allow`, once under a grant the
// person gave with `a` on the terminal prompter (a real pty).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { agentWithKey, createToken } from '../helpers/fixtures.js';
import { onCleanup, run, waitFor, type Agent, type TestKey } from '../helpers/openssh.js';
import { CLI, SHIM, spawnConsole } from '../helpers/proxy.js';
import { needsPosixShell, needsUtilLinuxScript } from '../helpers/platform.js';
import { sshSigningConfig } from '../helpers/git-signing.js';

const COMMITS = 1000;
let dir: string;
let agent: Agent;
let key: TestKey;

before(async () => {
  ({ dir, agent, key } = await agentWithKey('ed25519', 'rebaser'));
});

/** A sandbox repo with COMMITS unsigned commits (made by fast-import: seconds, not minutes). */
async function sandboxRepo(name: string, url: string, token: string) {
  const home = join(dir, name);
  const repo = join(home, 'repo');
  mkdirSync(repo, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    SSH_AGENT_PROXY_URL: `${url}/sign`,
    SSH_AGENT_PROXY_TOKEN: token,
  };
  const git = (args: string[], input?: string) =>
    run('git', args, { env, cwd: repo, input, timeoutMs: 600_000 });
  await git(['init', '-q', '-b', 'main']);
  let stream = '';
  for (let i = 1; i <= COMMITS; i++) {
    const msg = `commit ${i}\n`;
    const data = `line ${i}\n`;
    stream += `commit refs/heads/main\ncommitter Ana Example <ana@example.test> ${1700000000 + i} +0000\ndata ${msg.length}\n${msg}M 100644 inline file${i % 10}\ndata ${data.length}\n${data}\n`;
  }
  const imported = await git(['fast-import', '--quiet'], stream);
  assert.equal(imported.code, 0, imported.stderr);
  await git(['checkout', '-q', 'main']);
  writeFileSync(join(home, 'allowed_signers'), `ana@example.test ${key.line}\n`);
  for (const [k, v] of sshSigningConfig(SHIM, key.pub, {
    'gpg.ssh.allowedSignersFile': join(home, 'allowed_signers'),
    'commit.gpgsign': 'true',
  })) {
    await git(['config', k, v]);
  }
  return { git };
}

async function rebaseAndCheck(s: Awaited<ReturnType<typeof sandboxRepo>>) {
  const r = await s.git(['rebase', '-q', '-f', '--root']);
  assert.equal(r.code, 0, `rebase failed: ${r.stderr.slice(-2000)}`);
  const marks = await s.git(['log', '--format=%G?']);
  const lines = marks.stdout.trim().split('\n');
  assert.equal(lines.length, COMMITS);
  const bad = lines.filter((l) => l !== 'G');
  assert.equal(bad.length, 0, `every commit is G; not: ${[...new Set(bad)].join(',')}`);
}

describe(
  'a 1,000-commit rebase never fails on the proxy’s limits',
  { skip: needsPosixShell },
  () => {
    it('policy allow, a client token, default limits: completes, every commit G', async () => {
      const cfg = join(dir, 'cfg-allow');
      const token = await createToken(cfg, 'rebaser');
      const proxy = await spawnConsole({
        SSH_AUTH_SOCK: agent.sock,
        SSH_AGENT_PROXY_CONFIG_DIR: cfg,
        SSH_AGENT_PROXY_APPROVAL: 'allow',
      });
      await rebaseAndCheck(await sandboxRepo('allow', proxy.url, token));
      assert.doesNotMatch(proxy.stderr(), /status=429/, 'no request was refused');
    });

    it(
      'policy prompt, one `a` on the terminal prompter: the grant carries the whole rebase',
      { skip: needsUtilLinuxScript },
      async () => {
        const cfg = join(dir, 'cfg-grant');
        const token = await createToken(cfg, 'rebaser');
        const child = spawn(
          'script',
          ['-qfec', `${process.execPath} ${CLI} --console`, '/dev/null'],
          {
            env: {
              PATH: process.env.PATH,
              HOME: dir,
              TERM: 'dumb',
              SSH_AUTH_SOCK: agent.sock,
              SSH_AGENT_PROXY_ADDR: '127.0.0.1:0',
              SSH_AGENT_PROXY_CONFIG_DIR: cfg,
            },
          },
        );
        onCleanup(() => {
          if (child.exitCode === null) child.kill('SIGKILL');
        });
        let screen = '';
        child.stdout.on('data', (c: Buffer) => (screen += c.toString()));
        await waitFor(() => /listening on http:\/\/\S+/.test(screen), 10_000, 'the proxy');
        const url = /listening on (http:\/\/\S+)/.exec(screen)![1]!.replace(/\s.*$/, '');
        const s = await sandboxRepo('grant', url, token);
        const done = rebaseAndCheck(s);
        await waitFor(() => screen.includes('Sign git commit'), 30_000, 'the first prompt');
        // Keys within the arming delay are dropped by design: press `a` until it is taken.
        const press = setInterval(() => child.stdin.write('a'), 250);
        try {
          // The proxy's own log line (on the same terminal) says the first one was signed.
          await waitFor(() => /POST \/sign .*status=200/.test(screen), 30_000, 'the grant');
        } finally {
          clearInterval(press);
        }
        await done;
        const prompts = screen.split('Sign git commit').length - 1;
        assert.ok(prompts <= 2, `one prompt (drawn at most twice), not one per commit: ${prompts}`);
      },
    );
  },
);
