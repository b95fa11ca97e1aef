// Containers set up for the Rust ssh-agent-proxy keep working here, tokens included: its
// shim (a stand-in with the same behaviour: POSIX sh, curl --fail, the URL as given, the
// /publickey URL derived from it) with the token in the URL's userinfo, which curl sends as
// `Authorization: Basic`. The token must never show up in the proxy's log or audit log.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { agentWithKey, createToken, type AgentWithKey } from '../helpers/fixtures.js';
import { run } from '../helpers/openssh.js';
import { ROOT, SHIM, spawnConsole, type ConsoleProxy } from '../helpers/proxy.js';
import { needsPosixShell } from '../helpers/platform.js';
import { sshSigningConfig } from '../helpers/git-signing.js';

const RUST_SHIM = join(ROOT, 'test', 'helpers', 'rust-style-shim.sh');

let a: AgentWithKey;
let proxy: ConsoleProxy;
let token: string;
let cfg: string;

before(async () => {
  a = await agentWithKey();
  cfg = join(a.dir, 'cfg');
  token = await createToken(cfg, 'box1');
  proxy = await spawnConsole({ SSH_AUTH_SOCK: a.agent.sock, SSH_AGENT_PROXY_CONFIG_DIR: cfg });
});

function sandbox(name: string, program: string, url: string) {
  const home = join(a.dir, name);
  const repo = join(home, 'repo');
  mkdirSync(repo, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    SSH_AGENT_PROXY_URL: url,
  };
  const git = (...args: string[]) => run('git', args, { env, cwd: repo });
  return {
    home,
    repo,
    env,
    git,
    async configure() {
      await git('init', '-q', '-b', 'main');
      const signingKey = join(home, '.cache/ssh-agent-proxy-sign/signing.pub');
      for (const [k, v] of sshSigningConfig(program, signingKey, {
        'commit.gpgsign': 'true',
        'gpg.ssh.allowedSignersFile': join(home, 'allowed_signers'),
      })) {
        await git('config', k, v);
      }
      writeFileSync(join(home, 'allowed_signers'), `ana@example.test ${a.key.line}\n`);
    },
  };
}

const port = () => new URL(proxy.url).port;

describe("the Rust ssh-agent-proxy's containers, unmodified", { skip: needsPosixShell }, () => {
  it('its shim signs git commits with the token in the URL; /publickey works the same way', async () => {
    const s = sandbox('rust', RUST_SHIM, `http://box1:${token}@127.0.0.1:${port()}/sign`);
    await s.configure();
    for (const subject of ['first', 'second']) {
      const c = await s.git('commit', '-q', '--allow-empty', '-m', subject);
      assert.equal(c.code, 0, c.stderr);
    }
    // The key file was bootstrapped from the derived /publickey URL, with the token.
    assert.equal(
      readFileSync(join(s.home, '.cache/ssh-agent-proxy-sign/signing.pub'), 'utf8').trim(),
      a.key.line,
    );
    const log = await s.git('log', '--format=%G? %s');
    assert.equal(log.stdout, 'G second\nG first\n');
    const pub = await run(RUST_SHIM, ['pubkey'], { env: s.env });
    assert.equal(pub.code, 0, pub.stderr);
    assert.equal(pub.stdout.trim(), a.key.line);
  });

  it('without the token, or with a wrong one, its shim fails (curl --fail) and git signs nothing', async () => {
    for (const url of [
      `http://127.0.0.1:${port()}/sign`,
      `http://box1:sap_${'x'.repeat(43)}@127.0.0.1:${port()}/sign`,
    ]) {
      const s = sandbox('rust-bad-' + url.length, RUST_SHIM, url);
      await s.configure();
      const c = await s.git('commit', '-q', '--allow-empty', '-m', 'nope');
      assert.notEqual(c.code, 0);
      assert.match(c.stderr, /401/);
      assert.equal((await s.git('rev-parse', '-q', '--verify', 'HEAD')).code, 1);
    }
  });

  it('our shim takes the same URL (the token goes in a header, off every command line)', async () => {
    const s = sandbox('ours', SHIM, `http://box1:${token}@127.0.0.1:${port()}/sign`);
    await s.configure();
    for (const fast of ['1', '0']) {
      const c = await run('git', ['commit', '-q', '--allow-empty', '-m', `ours ${fast}`], {
        env: { ...s.env, SSH_AGENT_PROXY_FAST: fast },
        cwd: s.repo,
      });
      assert.equal(c.code, 0, c.stderr);
    }
    const log = await s.git('log', '--format=%G? %s');
    assert.equal(log.stdout, 'G ours 0\nG ours 1\n');
  });

  it("the token never appears in the proxy's log or audit log, and requests are audited as box1", () => {
    const logs = join(cfg, 'logs');
    const files = readdirSync(logs).map((f) => join(logs, f));
    assert.ok(files.some((f) => f.endsWith('audit.log')));
    for (const text of [proxy.stderr(), ...files.map((f) => readFileSync(f, 'utf8'))]) {
      assert.ok(!text.includes(token), 'no token');
      assert.ok(
        !text.includes(Buffer.from(`box1:${token}`).toString('base64')),
        'no Basic credentials',
      );
    }
    assert.match(proxy.stderr(), /POST \/sign client="box1"[^\n]*status=200/);
    assert.match(readFileSync(join(logs, 'audit.log'), 'utf8'), /"box1"/);
    assert.ok(existsSync(join(logs, 'audit.log')));
  });
});
