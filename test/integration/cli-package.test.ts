// The headless CLI as its own npm package (scripts/build-cli-package.mjs): `npm pack`, install
// the tarball offline into a temporary prefix, run `ssh-agent-proxy --console` from there on
// plain Node against a real ssh-agent, sign with curl, verify with ssh-keygen. Nothing of this
// checkout (its node_modules, electron) is reachable from the installed copy.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { agentWithKey, commitObject, type AgentWithKey } from '../helpers/fixtures.js';
import { mustRun, onCleanup, run, tempDir, waitFor, keygenVerify } from '../helpers/openssh.js';
import { ANY_LOCAL_PROCESS, ROOT } from '../helpers/proxy.js';
import { needsPosixSignals, windowsSystemEnv } from '../helpers/platform.js';

const PACKAGE_DIR = join(ROOT, 'dist', 'cli-package');
const win = process.platform === 'win32';

/** npm itself: the npm that runs `npm test` when there is one, else the one on PATH. */
function npm(args: string[], cwd: string) {
  const env = {
    ...process.env,
    npm_config_cache: join(cwd, '.npm-cache'),
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
  const cli = process.env.npm_execpath;
  return cli && cli.endsWith('.js')
    ? mustRun(process.execPath, [cli, ...args], { cwd, env })
    : mustRun(win ? 'npm.cmd' : 'npm', args, { cwd, env });
}

let fx: AgentWithKey;
let prefix: string;
let tarball: string;
before(async () => {
  fx = await agentWithKey();
  const work = tempDir('sap-pkg-');
  await npm(['pack', PACKAGE_DIR, '--pack-destination', work, '--silent'], work);
  tarball = join(
    work,
    readdirSync(work).find((f) => f.endsWith('.tgz'))!,
  );
  prefix = join(work, 'prefix');
  // --offline: the package has no dependencies, so installing it needs no registry at all.
  await npm(['install', '-g', '--prefix', prefix, '--offline', tarball], work);
});

describe('the CLI package', () => {
  it('has no dependencies, no electron, and the bins it promises', async () => {
    const listing = await mustRun('tar', ['-tzf', tarball]);
    const files = listing.trim().split('\n').sort();
    for (const f of [
      'package/package.json',
      'package/dist/cli/cli.js',
      'package/scripts/ssh-agent-proxy-sign',
      'package/contrib/systemd/ssh-agent-proxy.service',
      'package/contrib/launchd/dev.sshagentproxy.console.plist',
    ])
      assert.ok(files.includes(f), `${f} in the tarball`);
    assert.ok(!files.some((f) => f.endsWith('.map') || f.endsWith('.ts')), files.join(' '));
    const installed = join(prefix, win ? '' : 'lib', 'node_modules', 'ssh-agent-proxy');
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    assert.equal(pkg.dependencies, undefined);
    assert.deepEqual(pkg.engines, { node: '>=20.10' });
    assert.ok(!existsSync(join(installed, 'node_modules')), 'nothing installed beside it');
    const bundle = readFileSync(join(installed, 'dist', 'cli', 'cli.js'), 'utf8');
    assert.doesNotMatch(bundle, /require\(["']electron["']\)/);
    const requires = new Set([...bundle.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]));
    const { builtinModules } = await import('node:module');
    for (const r of requires)
      assert.ok(r!.startsWith('node:') || builtinModules.includes(r!), `${r} is Node's own`);
  });

  it('`ssh-agent-proxy --console` from the prefix signs with the agent; ssh-keygen verifies', async (t) => {
    const home = tempDir('sap-home-');
    // posix: the bin link npm made, through its #!/usr/bin/env node line. Windows: npm's
    // .cmd wrapper cannot be spawned without a shell, so its target runs under this Node.
    const bin = win
      ? [process.execPath, join(prefix, 'node_modules', 'ssh-agent-proxy', 'dist', 'cli', 'cli.js')]
      : [join(prefix, 'bin', 'ssh-agent-proxy')];
    const child = spawn(bin[0]!, [...bin.slice(1), '--console'], {
      cwd: home,
      env: {
        PATH: process.env.PATH,
        HOME: home,
        ...windowsSystemEnv(),
        SSH_AGENT_PROXY_CONFIG_DIR: join(home, 'cfg'),
        SSH_AGENT_PROXY_UPSTREAM: fx.agent.sock,
        SSH_AGENT_PROXY_ADDR: '127.0.0.1:0',
        SSH_AGENT_PROXY_APPROVAL: 'allow',
        ...ANY_LOCAL_PROCESS,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    onCleanup(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    await waitFor(
      () => /listening on http:\/\/\S+/.test(err) || child.exitCode !== null,
      15_000,
      'the packaged console proxy to listen',
    );
    const url = /listening on (http:\/\/\S+)/.exec(err)?.[1];
    assert.ok(url, `did not start: ${err}`);

    const dir = tempDir();
    const msg = commitObject('Signed by the packaged CLI');
    writeFileSync(join(dir, 'commit'), msg);
    const sig = await run('curl', [
      '-sS',
      '--fail-with-body',
      '--data-binary',
      `@${join(dir, 'commit')}`,
      '-o',
      join(dir, 'commit.sig'),
      `${url}/sign`,
    ]);
    assert.equal(sig.code, 0, sig.stderr);
    writeFileSync(join(dir, 'allowed'), `ana@test ${fx.key.line}\n`);
    const verify = await keygenVerify(
      join(dir, 'allowed'),
      'ana@test',
      join(dir, 'commit.sig'),
      msg,
    );
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /Good "git" signature for ana@test/);
    // A different message must not verify: this check can fail.
    const tampered = await keygenVerify(
      join(dir, 'allowed'),
      'ana@test',
      join(dir, 'commit.sig'),
      Buffer.concat([msg, Buffer.from('x')]),
    );
    assert.notEqual(tampered.code, 0);

    // The shim it serves at /shim is the one shipped in the package.
    const shim = await run('curl', ['-sS', '--fail-with-body', `${url}/shim`]);
    assert.equal(shim.code, 0, shim.stderr);
    assert.equal(shim.stdout, readFileSync(join(ROOT, 'scripts', 'ssh-agent-proxy-sign'), 'utf8'));

    child.kill('SIGTERM');
    if (needsPosixSignals)
      t.diagnostic(`exit status after SIGTERM not checked: ${needsPosixSignals}`);
    else assert.equal(await exited, 0, err);
  });
});
