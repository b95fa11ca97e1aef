// End to end as a sandbox sees it: git in a repo with its own HOME, the shim as
// gpg.ssh.program, the built `--console` proxy on the host side, a real ssh-agent.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  makeKey,
  mustRun,
  run,
  startAgent,
  tempDir,
  type Agent,
  type TestKey,
} from '../helpers/openssh.js';
import { SHIM, spawnConsole, type ConsoleProxy } from '../helpers/proxy.js';

let agent: Agent;
let first: TestKey;
let second: TestKey;
let proxy: ConsoleProxy;
let dir: string;

before(async () => {
  dir = tempDir();
  agent = await startAgent(dir);
  first = await makeKey(dir, 'ed25519', 'first');
  second = await makeKey(dir, 'rsa', 'second');
  await agent.add(first);
  await agent.add(second);
  proxy = await spawnConsole({
    SSH_AUTH_SOCK: agent.sock,
    SSH_AGENT_PROXY_CONFIG_DIR: join(dir, 'cfg'),
  });
});

/** A sandbox: a fresh HOME with git configured for the shim, no agent in reach. */
function sandbox(name: string) {
  const home = join(dir, name);
  const repo = join(home, 'repo');
  mkdirSync(repo, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    SSH_AGENT_PROXY_URL: `${proxy.url}/sign`,
  };
  const git = (...args: string[]) => run('git', args, { env, cwd: repo });
  return { home, repo, env, git };
}

async function configure(s: ReturnType<typeof sandbox>, signingKey?: string) {
  await s.git('init', '-q', '-b', 'main');
  for (const [k, v] of [
    ['user.name', 'Ana Example'],
    ['user.email', 'ana@example.test'],
    ['gpg.format', 'ssh'],
    ['gpg.ssh.program', SHIM],
    ['user.signingkey', signingKey ?? join(s.home, '.cache/ssh-agent-proxy-sign/signing.pub')],
    ['gpg.ssh.allowedSignersFile', join(s.home, 'allowed_signers')],
  ] as const) {
    await s.git('config', k, v);
  }
  writeFileSync(
    join(s.home, 'allowed_signers'),
    `ana@example.test ${first.line}\nana@example.test ${second.line}\n`,
  );
}

describe('git through the shim and the console proxy', () => {
  it('git commit -S and git tag -s verify; the key file is bootstrapped from /publickey', async () => {
    const s = sandbox('sb1');
    await configure(s);
    writeFileSync(join(s.repo, 'f'), 'hello\n');
    await s.git('add', 'f');
    const c = await s.git('commit', '-S', '-q', '-m', 'Fix login race');
    assert.equal(c.code, 0, c.stderr);
    assert.equal(
      readFileSync(join(s.home, '.cache/ssh-agent-proxy-sign/signing.pub'), 'utf8').trim(),
      first.line,
    );
    const v = await s.git('verify-commit', '-v', 'HEAD');
    assert.equal(v.code, 0, v.stderr);
    assert.match(
      v.stderr,
      new RegExp(
        `Good "git" signature for ana@example.test with ED25519 key ${first.fingerprint.replace(/[+/]/g, '\\$&')}`,
      ),
    );
    const t = await s.git('tag', '-s', '-m', 'release one', 'v1');
    assert.equal(t.code, 0, t.stderr);
    const vt = await s.git('verify-tag', 'v1');
    assert.equal(vt.code, 0, vt.stderr);
    // Tampering breaks it: the check is real.
    const raw = await s.git('cat-file', 'commit', 'HEAD');
    const forged = raw.stdout.replace('Fix login race', 'Fix login rice');
    const h = await run('git', ['hash-object', '-t', 'commit', '-w', '--stdin'], {
      env: s.env,
      cwd: s.repo,
      input: forged,
    });
    assert.notEqual((await s.git('verify-commit', h.stdout.trim())).code, 0);
  });

  it('with two keys in the agent, the key named by user.signingkey is used (file and key:: forms)', async () => {
    const s = sandbox('sb2');
    await configure(s, second.pub);
    writeFileSync(join(s.repo, 'f'), 'two\n');
    await s.git('add', 'f');
    assert.equal((await s.git('commit', '-S', '-q', '-m', 'second key')).code, 0);
    const v = await s.git('verify-commit', '-v', 'HEAD');
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stderr, /with RSA key/);
    await s.git('config', 'user.signingkey', `key::${first.line}`);
    assert.equal((await s.git('commit', '-S', '-q', '--allow-empty', '-m', 'literal key')).code, 0);
    const v2 = await s.git('verify-commit', '-v', 'HEAD');
    assert.match(v2.stderr, /with ED25519 key/);
  });

  it("a proxy error fails the commit with the proxy's own one-line reason", async () => {
    const s = sandbox('sb3');
    const stranger = await makeKey(dir, 'ed25519', 'stranger');
    await configure(s, stranger.pub);
    const c = await s.git('commit', '-S', '-q', '--allow-empty', '-m', 'nope');
    assert.notEqual(c.code, 0);
    assert.match(
      c.stderr,
      /ssh-agent-proxy-sign: key-not-found: the agent holds no key .* \(it holds 2 keys\) \(HTTP 404\)/,
    );
  });

  it('the shim signs stdin to stdout, fetches the key with `pubkey`, and hands verify to ssh-keygen', async () => {
    const s = sandbox('sb4');
    const keyPath = join(s.home, 'k.pub');
    const pub = await run(SHIM, ['pubkey', keyPath], { env: s.env });
    assert.equal(pub.code, 0, pub.stderr);
    assert.equal(pub.stdout.trim(), first.line);
    const sig = await run(SHIM, ['-Y', 'sign', '-n', 'git', '-f', keyPath], {
      env: s.env,
      input: 'stdin data',
    });
    assert.equal(sig.code, 0, sig.stderr);
    assert.match(sig.stdout, /^-----BEGIN SSH SIGNATURE-----\n/);
    writeFileSync(join(s.home, 'd.sig'), sig.stdout);
    writeFileSync(join(s.home, 'allowed'), `me ${first.line}\n`);
    const v = await run(
      SHIM,
      [
        '-Y',
        'verify',
        '-f',
        join(s.home, 'allowed'),
        '-I',
        'me',
        '-n',
        'git',
        '-s',
        join(s.home, 'd.sig'),
      ],
      {
        env: s.env,
        input: 'stdin data',
      },
    );
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /Good "git" signature for me/);
  });

  it('a key file written on Windows (CRLF, a comment line) still names the key', async () => {
    const s = sandbox('sb8');
    const keyPath = join(s.home, 'crlf.pub');
    // No comment after the key: the CR would otherwise end up inside the key text.
    writeFileSync(keyPath, `# signing key\r\n${second.line.split(' ').slice(0, 2).join(' ')}\r\n`);
    const sig = await run(SHIM, ['-Y', 'sign', '-n', 'git', '-f', keyPath], {
      env: s.env,
      input: 'crlf',
    });
    assert.equal(sig.code, 0, sig.stderr);
    writeFileSync(join(s.home, 'crlf.sig'), sig.stdout);
    const v = await run(
      'ssh-keygen',
      ['-Y', 'check-novalidate', '-n', 'git', '-s', join(s.home, 'crlf.sig')],
      { input: 'crlf' },
    );
    assert.match(
      v.stdout,
      /RSA key/,
      'signed with the key the file names, not the first in the agent',
    );
  });

  it('the shim never sends a private key: a private key file without .pub is refused', async () => {
    const s = sandbox('sb5');
    const lone = await makeKey(dir, 'ed25519', 'lone');
    await mustRun('rm', [lone.pub]);
    writeFileSync(join(s.home, 'data'), 'x');
    const r = await run(SHIM, ['-Y', 'sign', '-n', 'git', '-f', lone.priv, join(s.home, 'data')], {
      env: s.env,
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /does not hold a public key line/);
    assert.equal(existsSync(join(s.home, 'data.sig')), false);
  });

  it('the shim reports an unreachable proxy clearly', async () => {
    const s = sandbox('sb6');
    const r = await run(SHIM, ['-Y', 'sign', '-n', 'git', '-f', first.pub], {
      env: { ...s.env, SSH_AGENT_PROXY_URL: 'http://127.0.0.1:9/sign' },
      input: 'x',
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^ssh-agent-proxy-sign: cannot reach ssh-agent-proxy at http:\/\/127\.0\.0\.1:9\/sign\?namespace=git/m,
    );
  });

  it("a token reaches the proxy in a header, never on curl's command line", async () => {
    const s = sandbox('sb7');
    const argvLog = join(s.home, 'curl-argv');
    const wrapper = join(s.home, 'curl-wrapper');
    writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$@" >> '${argvLog}'\nexec curl "$@"\n`, {
      mode: 0o755,
    });
    const token = 'sap_' + 'T'.repeat(43);
    const env = { ...s.env, SSH_AGENT_PROXY_CURL: wrapper, SSH_AGENT_PROXY_TOKEN: token };
    writeFileSync(join(s.home, 'data'), 'x');
    // Both forms: data on stdin (the header goes through a 0600 file), and git's file form
    // (the header goes through curl's stdin).
    for (const [args, input] of [
      [['-Y', 'sign', '-n', 'git', '-f', first.pub], 'x'],
      [['-Y', 'sign', '-n', 'git', '-f', first.pub, join(s.home, 'data')], undefined],
    ] as const) {
      const r = await run(SHIM, args, { env, input });
      // No tokens exist on this proxy, so a presented (unknown) token is refused: it was sent.
      assert.equal(r.code, 1);
      assert.match(r.stderr, /bad-token: .* \(HTTP 401\)/);
    }
    assert.ok(!readFileSync(argvLog, 'utf8').includes(token), "the token is not in curl's argv");
    assert.equal(existsSync(join(s.home, 'data.sig')), false, 'no signature file on failure');
  });

  it('the console proxy logged one line per request, with no signed bytes', () => {
    const log = proxy.stderr();
    assert.match(
      log,
      /POST \/sign client="local 127\.0\.0\.1" key=SHA256:\S+ ns=git status=200 ms=/,
    );
    assert.doesNotMatch(log, /Fix login race|stdin data|BEGIN SSH SIGNATURE/);
  });
});
