// End to end as a sandbox sees it: git in a repo with its own HOME, the shim as
// gpg.ssh.program, the built `--console` proxy on the host side, a real ssh-agent. Every
// test runs in each of the shim's forms (bash's /dev/tcp with and without curl; dash with
// curl), and the forms must answer byte for byte alike.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  makeKey,
  mustRun,
  run,
  startAgent,
  tempDir,
  type Agent,
  type RunResult,
  type TestKey,
  keygenVerify,
} from '../helpers/openssh.js';
import { spawnConsole, type ConsoleProxy } from '../helpers/proxy.js';
import { shimForms, type ShimForm } from '../helpers/shim-forms.js';
import { needsPosixShell } from '../helpers/platform.js';
import { sshSigningConfig } from '../helpers/git-signing.js';

// Every suite here runs the shim, a POSIX sh script.
const skip = needsPosixShell;

let agent: Agent;
let first: TestKey;
let second: TestKey;
let proxy: ConsoleProxy;
let dir: string;
let forms: ShimForm[];

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
  forms = shimForms(dir);
});

const FORM_NAMES = [
  'bash and curl',
  'bash, no curl',
  'sh and curl, no bash',
  'bash as the shebang',
];
const form = (name: string) => forms.find((f) => f.name === name)!;
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** A sandbox: a fresh HOME with git configured for the shim, no agent in reach. */
function sandbox(name: string, f: ShimForm) {
  const home = join(dir, name + '-' + f.name.replace(/\W+/g, '-'));
  const repo = join(home, 'repo');
  mkdirSync(repo, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    PATH: f.path,
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    // A UTF-8 locale, as images have: lengths must still be counted in bytes.
    LANG: 'C.UTF-8',
    SSH_AGENT_PROXY_URL: `${proxy.url}/sign`,
  };
  const git = (...args: string[]) => run('git', args, { env, cwd: repo });
  const shim = (
    args: string[],
    o: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {},
  ) => run(f.program, args, { env: { ...env, ...o.env }, input: o.input, cwd: o.cwd });
  return { home, repo, env, git, shim, program: f.program };
}
type Sandbox = ReturnType<typeof sandbox>;

async function configure(s: Sandbox, signingKey?: string) {
  await s.git('init', '-q', '-b', 'main');
  const key = signingKey ?? join(s.home, '.cache/ssh-agent-proxy-sign/signing.pub');
  for (const [k, v] of sshSigningConfig(s.program, key, {
    'gpg.ssh.allowedSignersFile': join(s.home, 'allowed_signers'),
  })) {
    await s.git('config', k, v);
  }
  writeFileSync(
    join(s.home, 'allowed_signers'),
    `ana@example.test ${first.line}\nana@example.test ${second.line}\n`,
  );
}

for (const name of FORM_NAMES) {
  describe(`git through the shim and the console proxy (${name})`, { skip }, () => {
    it('git commit -S and git tag -s verify; the key file is bootstrapped from /publickey', async () => {
      const f = form(name);
      const s = sandbox('sb1', f);
      await configure(s);
      writeFileSync(join(s.repo, 'f'), 'hello\n');
      await s.git('add', 'f');
      const curlBefore = f.curlRuns();
      const c = await s.git('commit', '-S', '-q', '-m', 'Fix login race');
      assert.equal(c.code, 0, c.stderr);
      const keyFile = join(s.home, '.cache/ssh-agent-proxy-sign/signing.pub');
      assert.equal(readFileSync(keyFile, 'utf8').trim(), first.line);
      const v = await s.git('verify-commit', '-v', 'HEAD');
      assert.equal(v.code, 0, v.stderr);
      assert.match(
        v.stderr,
        new RegExp(
          `Good "git" signature for ana@example.test with ED25519 key ${esc(first.fingerprint)}`,
        ),
      );
      const t = await s.git('tag', '-s', '-m', 'release one', 'v1');
      assert.equal(t.code, 0, t.stderr);
      assert.equal((await s.git('verify-tag', 'v1')).code, 0);
      // The fast path starts no curl at all; the fallback does.
      if (f.fast) assert.equal(f.curlRuns(), curlBefore, 'bash spoke HTTP itself');
      else assert.ok(f.curlRuns() > curlBefore, 'sh without bash used curl');
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
      const s = sandbox('sb2', form(name));
      await configure(s, second.pub);
      writeFileSync(join(s.repo, 'f'), 'two\n');
      await s.git('add', 'f');
      assert.equal((await s.git('commit', '-S', '-q', '-m', 'second key')).code, 0);
      const v = await s.git('verify-commit', '-v', 'HEAD');
      assert.equal(v.code, 0, v.stderr);
      assert.match(v.stderr, /with RSA key/);
      await s.git('config', 'user.signingkey', `key::${first.line}`);
      const c = await s.git('commit', '-S', '-q', '--allow-empty', '-m', 'literal key');
      assert.equal(c.code, 0, c.stderr);
      const v2 = await s.git('verify-commit', '-v', 'HEAD');
      assert.match(v2.stderr, /with ED25519 key/);
    });

    it('every byte value survives the trip: a file with NULs and all 256 bytes signs and verifies', async () => {
      const s = sandbox('sb9', form(name));
      const data = join(s.home, 'bin.dat');
      const all = Buffer.alloc(256 * 3 + 2);
      for (let i = 0; i < all.length; i++) all[i] = i % 256;
      all[all.length - 1] = 0; // ends in a NUL
      mkdirSync(s.home, { recursive: true });
      writeFileSync(data, all);
      const r = await s.shim(['-Y', 'sign', '-n', 'file', '-f', first.pub, data], {
        env: { SSH_AGENT_PROXY_URL: `${proxy.url}/sign` },
      });
      // The proxy accepts only its namespace unless configured: git is what it allows.
      assert.match(r.stderr, /namespace-not-allowed|^$/);
      const g = await s.shim(['-Y', 'sign', '-n', 'git', '-f', first.pub, data]);
      assert.equal(g.code, 0, g.stderr);
      writeFileSync(join(s.home, 'allowed'), `me ${first.line}\n`);
      const v = await keygenVerify(join(s.home, 'allowed'), 'me', `${data}.sig`, all);
      assert.equal(v.code, 0, v.stderr + v.stdout);
      // And byte-identical to ssh-keygen's own signature (Ed25519 is deterministic).
      const native = join(s.home, 'native.dat');
      writeFileSync(native, all);
      await mustRun('ssh-keygen', ['-Y', 'sign', '-n', 'git', '-f', first.pub, native], {
        env: agent.env,
      });
      assert.equal(readFileSync(`${data}.sig`, 'utf8'), readFileSync(`${native}.sig`, 'utf8'));
    });

    it("a proxy error fails the commit with the proxy's own one-line reason, and leaves no .sig", async () => {
      const s = sandbox('sb3', form(name));
      const stranger = await makeKey(dir, 'ed25519', 'stranger-' + name.replace(/\W+/g, '-'));
      await configure(s, stranger.pub);
      const c = await s.git('commit', '-S', '-q', '--allow-empty', '-m', 'nope');
      assert.notEqual(c.code, 0);
      assert.match(
        c.stderr,
        /ssh-agent-proxy-sign: key-not-found: the agent holds no key .* \(it holds 2 keys\) \(HTTP 404\)/,
      );
      writeFileSync(join(s.home, 'data'), 'x');
      const r = await s.shim(['-Y', 'sign', '-n', 'git', '-f', stranger.pub, join(s.home, 'data')]);
      assert.equal(r.code, 1);
      assert.equal(existsSync(join(s.home, 'data.sig')), false, 'no signature file on failure');
    });

    it('a mistyped user.signingkey fails as ssh-keygen fails, and writes nothing', async () => {
      const s = sandbox('sb10', form(name));
      await configure(s, 'ABCDEF0123');
      writeFileSync(join(s.repo, 'f'), 'typo\n');
      await s.git('add', 'f');
      const before = readdirSync(s.repo).sort();
      const c = await s.git('commit', '-S', '-q', '-m', 'typo');
      assert.notEqual(c.code, 0);
      // The same commit with the real ssh-keygen as gpg.ssh.program: git says the same first line.
      await s.git('config', 'gpg.ssh.program', 'ssh-keygen');
      const native = await s.git('commit', '-S', '-q', '-m', 'typo');
      assert.notEqual(native.code, 0);
      assert.equal(c.stderr.split('\n')[0], native.stderr.split('\n')[0]);
      assert.match(
        c.stderr,
        /^error: Couldn't load public key ABCDEF0123: No such file or directory\?\n/,
      );
      assert.match(c.stderr, /ssh-agent-proxy-sign: user\.signingkey is not a key file/);
      assert.deepEqual(readdirSync(s.repo).sort(), before, 'nothing written in the repository');
      assert.equal(existsSync(join(s.home, '.cache')), false, 'nothing fetched anywhere');
      // Directly, the exit status is ssh-keygen's too.
      const direct = await s.shim(
        ['-Y', 'sign', '-n', 'git', '-f', 'ABCDEF0123', join(s.repo, 'f')],
        {
          cwd: s.repo,
        },
      );
      const nativeDirect = await run(
        'ssh-keygen',
        ['-Y', 'sign', '-n', 'git', '-f', 'ABCDEF0123', join(s.repo, 'f')],
        {
          cwd: s.repo,
          env: { PATH: process.env.PATH, SSH_AUTH_SOCK: '' },
        },
      );
      assert.equal(direct.code, nativeDirect.code);
      assert.equal(direct.stderr.split('\n')[0], nativeDirect.stderr.split('\n')[0]);
      assert.equal(existsSync(join(s.repo, 'f.sig')), false);
    });

    it('fetch on first use: a .pub path in a directory that exists is fetched; in one that does not, refused', async () => {
      const s = sandbox('sb11', form(name));
      const there = join(s.home, 'keys');
      mkdirSync(there, { recursive: true });
      writeFileSync(join(s.home, 'data'), 'x');
      const ok = await s.shim([
        '-Y',
        'sign',
        '-n',
        'git',
        '-f',
        join(there, 'me.pub'),
        join(s.home, 'data'),
      ]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(readFileSync(join(there, 'me.pub'), 'utf8').trim(), first.line);
      assert.match(ok.stderr, new RegExp(esc(first.fingerprint)));
      // The shim's own cache path is fetched even where its directory does not exist yet, and
      // says which key it fetched (git shows a signer's stderr only on failure).
      const dflt = join(s.home, '.cache/ssh-agent-proxy-sign/signing.pub');
      const d = await s.shim(['-Y', 'sign', '-n', 'git', '-f', dflt, join(s.home, 'data')]);
      assert.equal(d.code, 0, d.stderr);
      assert.equal(
        d.stderr,
        `ssh-agent-proxy-sign: fetched the proxy's key into ${dflt}: 256 ${first.fingerprint} ${first.line.split(' ')[2]} (ED25519)\n`,
      );
      const missing = join(s.home, 'nowhere', 'me.pub');
      const no = await s.shim(['-Y', 'sign', '-n', 'git', '-f', missing, join(s.home, 'data')]);
      assert.equal(no.code, 255);
      assert.match(
        no.stderr,
        new RegExp(`^Couldn't load public key ${esc(missing)}: No such file or directory\r\n`),
      );
      assert.equal(existsSync(join(s.home, 'nowhere')), false);
    });

    it('the shim signs stdin to stdout, fetches the key with `pubkey`, and hands verify to ssh-keygen', async () => {
      const s = sandbox('sb4', form(name));
      const keyPath = join(s.home, 'k.pub');
      const pub = await s.shim(['pubkey', keyPath]);
      assert.equal(pub.code, 0, pub.stderr);
      assert.equal(pub.stdout.trim(), first.line);
      const sig = await s.shim(['-Y', 'sign', '-n', 'git', '-f', keyPath], { input: 'stdin data' });
      assert.equal(sig.code, 0, sig.stderr);
      assert.match(sig.stdout, /^-----BEGIN SSH SIGNATURE-----\n/);
      writeFileSync(join(s.home, 'd.sig'), sig.stdout);
      writeFileSync(join(s.home, 'allowed'), `me ${first.line}\n`);
      const v = await s.shim(
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
        { input: 'stdin data' },
      );
      assert.equal(v.code, 0, v.stderr);
      assert.match(v.stdout, /Good "git" signature for me/);
    });

    it("`allowed-signers EMAIL [PATH]` writes the line for the proxy's key once, and git verifies with it", async () => {
      const s = sandbox('sb12', form(name));
      const line = `ana@example.test namespaces="git" ${first.line}`;
      for (let i = 0; i < 2; i++) {
        const r = await s.shim(['allowed-signers', 'ana@example.test']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, `${line}\n`);
        assert.match(r.stderr, new RegExp(esc(first.fingerprint)));
      }
      const dflt = join(s.home, '.cache/ssh-agent-proxy-sign/allowed_signers');
      assert.equal(readFileSync(dflt, 'utf8'), `${line}\n`, 'written once, however often run');
      const other = join(s.home, 'signers');
      writeFileSync(other, 'bob@example.test ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHxxx\n');
      assert.equal((await s.shim(['allowed-signers', 'ana@example.test', other])).code, 0);
      assert.equal(
        readFileSync(other, 'utf8'),
        `bob@example.test ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHxxx\n${line}\n`,
        'other signers kept',
      );
      const bad = await s.shim(['allowed-signers', '']);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /allowed-signers needs an email address/);
      // git trusts exactly that file.
      await configure(s);
      await s.git('config', 'gpg.ssh.allowedSignersFile', dflt);
      assert.equal((await s.git('commit', '-S', '-q', '--allow-empty', '-m', 'x')).code, 0);
      const v = await s.git('log', '--show-signature', '-1');
      assert.match(v.stdout, /Good "git" signature for ana@example\.test with ED25519 key/);
    });

    it('a key file written on Windows (CRLF, a comment line) still names the key', async () => {
      const s = sandbox('sb8', form(name));
      const keyPath = join(s.home, 'crlf.pub');
      // No comment after the key: the CR would otherwise end up inside the key text.
      writeFileSync(
        keyPath,
        `# signing key\r\n${second.line.split(' ').slice(0, 2).join(' ')}\r\n`,
      );
      const sig = await s.shim(['-Y', 'sign', '-n', 'git', '-f', keyPath], { input: 'crlf' });
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
      const s = sandbox('sb5', form(name));
      const lone = await makeKey(dir, 'ed25519', 'lone-' + name.replace(/\W+/g, '-'));
      await mustRun('rm', [lone.pub]);
      writeFileSync(join(s.home, 'data'), 'x');
      const r = await s.shim(['-Y', 'sign', '-n', 'git', '-f', lone.priv, join(s.home, 'data')]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /does not hold a public key line/);
      assert.equal(existsSync(join(s.home, 'data.sig')), false);
    });

    it('the shim reports an unreachable proxy clearly', async () => {
      const s = sandbox('sb6', form(name));
      const r = await s.shim(['-Y', 'sign', '-n', 'git', '-f', first.pub], {
        env: { SSH_AGENT_PROXY_URL: 'http://127.0.0.1:9/sign' },
        input: 'x',
      });
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        'ssh-agent-proxy-sign: cannot reach ssh-agent-proxy at http://127.0.0.1:9/sign?namespace=git; is it running on the host?\n',
      );
    });

    it('a token reaches the proxy in a header, never on a command line', async () => {
      const f = form(name);
      const s = sandbox('sb7', f);
      const token = 'sap_' + 'T'.repeat(43);
      writeFileSync(join(s.home, 'data'), 'x');
      // Both forms of data (stdin, and git's file form), and the token both ways (the variable,
      // and the password in the URL): every one is refused 401 by this token-less proxy, so
      // every one was sent.
      const hostport = new URL(proxy.url).host;
      for (const env of [
        { SSH_AGENT_PROXY_TOKEN: token },
        { SSH_AGENT_PROXY_URL: `http://box1:${token}@${hostport}/sign` },
      ]) {
        for (const [args, input] of [
          [['-Y', 'sign', '-n', 'git', '-f', first.pub], 'x'],
          [['-Y', 'sign', '-n', 'git', '-f', first.pub, join(s.home, 'data')], undefined],
        ] as const) {
          const r = await s.shim([...args], { env, input });
          assert.equal(r.code, 1);
          assert.match(r.stderr, /bad-token: .* \(HTTP 401\)/);
          assert.ok(!r.stderr.includes(token), 'the token is not in a message');
        }
      }
      assert.equal(existsSync(join(s.home, 'data.sig')), false, 'no signature file on failure');
      if (!f.fast) {
        // curl's argv, recorded by a wrapper: no token there.
        const argvLog = join(s.home, 'curl-argv');
        const wrapper = join(s.home, 'curl-wrapper');
        writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$@" >> '${argvLog}'\nexec curl "$@"\n`, {
          mode: 0o755,
        });
        for (const env of [
          { SSH_AGENT_PROXY_TOKEN: token, SSH_AGENT_PROXY_CURL: wrapper },
          {
            SSH_AGENT_PROXY_URL: `http://box1:${token}@${hostport}/sign`,
            SSH_AGENT_PROXY_CURL: wrapper,
          },
        ]) {
          const r = await s.shim(
            ['-Y', 'sign', '-n', 'git', '-f', first.pub, join(s.home, 'data')],
            { env },
          );
          assert.match(r.stderr, /bad-token/);
        }
        const argv = readFileSync(argvLog, 'utf8');
        assert.match(argv, /\/sign\?namespace=git/);
        assert.ok(!argv.includes(token), "the token is not in curl's argv");
      }
    });
  });
}

describe('both transports answer alike', { skip }, () => {
  it('the same stdout, stderr and exit status in every form, for success and for each kind of failure', async () => {
    const results = new Map<string, RunResult[]>();
    const stranger = await makeKey(dir, 'ed25519', 'stranger-diff');
    for (const f of forms) {
      const s = sandbox('diff', f);
      writeFileSync(join(s.home, 'data'), 'same bytes, née Ünïcödé ✓\n');
      const data = join(s.home, 'data');
      const cases: [string[], NodeJS.ProcessEnv, string | undefined][] = [
        [['-Y', 'sign', '-n', 'git', '-f', first.pub], {}, 'same bytes\n'],
        [['-Y', 'sign', '-n', 'git', '-f', stranger.pub], {}, 'x'],
        [['-Y', 'sign', '-n', 'git', '-f', first.pub], { SSH_AGENT_PROXY_TOKEN: 'sap_nope' }, 'x'],
        [
          ['-Y', 'sign', '-n', 'git', '-f', first.pub],
          { SSH_AGENT_PROXY_URL: 'http://127.0.0.1:9/sign' },
          'x',
        ],
        [['-Y', 'sign', '-n', 'git', '-f', first.pub], {}, ''],
        [['-Y', 'sign', '-n', 'other', '-f', first.pub], {}, 'x'],
        [['pubkey', join(s.home, 'p.pub')], {}, undefined],
        // git's own form (bash's shortest path), signing and failing.
        [['-Y', 'sign', '-n', 'git', '-f', first.pub, data], {}, undefined],
        [
          ['-Y', 'sign', '-n', 'git', '-f', first.pub, data],
          { SSH_AGENT_PROXY_URL: 'http://127.0.0.1:9/sign' },
          undefined,
        ],
        [['-Y', 'sign', '-n', 'git', '-f', stranger.pub, '-U', data], {}, undefined],
        // An HTTP proxy in the environment (not for this host): curl's to honour where there
        // is curl, so bash hands over to it.
        [
          ['-Y', 'sign', '-n', 'git', '-f', first.pub, data],
          { http_proxy: 'http://127.0.0.1:9', no_proxy: '127.0.0.1' },
          undefined,
        ],
      ];
      const out: RunResult[] = [];
      for (const [args, env, input] of cases) {
        const r = await s.shim(args, { env, input });
        // What git reads back: the .sig file (gone after each run, so each starts clean).
        const sig = join(s.home, 'data.sig');
        out.push({ ...r, stdout: r.stdout + (existsSync(sig) ? readFileSync(sig, 'utf8') : '') });
        rmSync(sig, { force: true });
      }
      results.set(f.name, out);
    }
    const [ref, ...rest] = [...results.values()];
    for (const r of rest) assert.deepEqual(r, ref);
    assert.equal(ref![0]!.code, 0);
    assert.match(ref![1]!.stderr, /key-not-found/);
    assert.match(ref![2]!.stderr, /bad-token/);
    assert.match(ref![3]!.stderr, /cannot reach/);
    assert.match(ref![4]!.stderr, /empty-body/);
    assert.match(ref![5]!.stderr, /namespace-not-allowed/);
    assert.match(ref![7]!.stdout, /^-----BEGIN SSH SIGNATURE-----\n/);
    assert.match(ref![8]!.stderr, /cannot reach ssh-agent-proxy at http:\/\/127\.0\.0\.1:9\/sign/);
    assert.match(ref![9]!.stderr, /key-not-found/);
    assert.match(ref![10]!.stdout, /^-----BEGIN SSH SIGNATURE-----\n/);
  });

  it('https goes to curl in every form; without curl the shim says it needs curl', async () => {
    for (const f of forms) {
      const s = sandbox('https', f);
      writeFileSync(join(s.home, 'data'), 'x');
      const r = await s.shim(['-Y', 'sign', '-n', 'git', '-f', first.pub, join(s.home, 'data')], {
        env: { SSH_AGENT_PROXY_URL: 'https://127.0.0.1:9/sign' },
      });
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        f.name === 'bash, no curl'
          ? 'ssh-agent-proxy-sign: needs curl to reach https://127.0.0.1:9/sign?namespace=git (or bash, for plain http): install one, or set SSH_AGENT_PROXY_CURL\n'
          : 'ssh-agent-proxy-sign: cannot reach ssh-agent-proxy at https://127.0.0.1:9/sign?namespace=git; is it running on the host?\n',
      );
    }
  });

  it('the console proxy logged one line per request, with no signed bytes and no token', () => {
    const log = proxy.stderr();
    assert.match(
      log,
      /POST \/sign client="local 127\.0\.0\.1" key=SHA256:\S+ ns=git status=200 ms=/,
    );
    assert.doesNotMatch(log, /Fix login race|stdin data|BEGIN SSH SIGNATURE|sap_T/);
  });
});
