// The README's quick start from a clone: `ssh-agent-proxy` is not on PATH there, and the
// README says to run it through npx in the checkout. That very command works (offline:
// --no-install, the checkout's own bin after the build). npx runs the package's `prepare`
// (the build, which replaces dist/), so it runs in a clone of its own: in this checkout it
// would pull dist/ from under the tests running beside it.
import assert from 'node:assert/strict';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { run, tempDir } from '../helpers/openssh.js';
import { ROOT } from '../helpers/proxy.js';
import { needsPosixShell } from '../helpers/platform.js';

function quickStart(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Quick start\n');
  return readme.slice(start, readme.indexOf('\n## ', start + 1));
}

describe('the quick start from a clone', { skip: needsPosixShell }, () => {
  it('says how to run the CLI from the checkout, that /sign waits for an answer, and how long the suite takes', () => {
    const text = quickStart();
    assert.match(text, /`npx ssh-agent-proxy token create box1`/);
    assert.match(text, /`npm link`/);
    assert.match(text, /waits for your answer/);
    assert.match(text, /`npm test` takes about \d+ minutes/);
  });

  it('`npx ssh-agent-proxy token create box1` in the checkout creates the token', async () => {
    const clone = join(tempDir('sap-clone-'), 'ssh-agent-proxy');
    const cloned = await run('git', ['clone', '--quiet', ROOT, clone], { timeoutMs: 60_000 });
    assert.equal(cloned.code, 0, cloned.stderr);
    // What `npm ci` would install, without the network.
    symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
    const cfg = tempDir('sap-cfg-');
    const env = { PATH: process.env.PATH, HOME: cfg, SSH_AGENT_PROXY_CONFIG_DIR: cfg };
    const created = await run(
      'npx',
      ['--no-install', 'ssh-agent-proxy', 'token', 'create', 'box1'],
      { cwd: clone, env, timeoutMs: 120_000 },
    );
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout.trim().split('\n').at(-1)!, /^sap_\S+$/);
    const list = await run('npx', ['--no-install', 'ssh-agent-proxy', 'token', 'list'], {
      cwd: clone,
      env,
      timeoutMs: 120_000,
    });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /\bbox1\b/);
  });
});
