// `npm start` (scripts/start-electron.mjs): with Electron's binary it runs it on this
// checkout; without one it prints one line saying to use `npm run console`, and fails.
// `npm run test:e2e` (scripts/run-e2e.mjs) likewise refuses with one line instead of passing.
// The binary's place is set with Electron's own ELECTRON_OVERRIDE_DIST_PATH.
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { run, tempDir } from '../helpers/openssh.js';
import { ROOT } from '../helpers/proxy.js';
import { needsPosixShell } from '../helpers/platform.js';

const START = join(ROOT, 'scripts', 'start-electron.mjs');

describe('npm start', () => {
  it("without Electron's binary: exit 1 and one line naming `npm run console`", async () => {
    const r = await run(process.execPath, [START], {
      cwd: ROOT,
      env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: tempDir() },
    });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /^ssh-agent-proxy: Electron's binary is not installed .*`npm run console`.*\n$/,
    );
    assert.equal(r.stderr.split('\n').length, 2, 'exactly one line');
  });

  it(
    'with a binary: runs it on this checkout with the arguments given, and passes its exit code on',
    {
      skip: needsPosixShell,
    },
    async () => {
      const dist = tempDir();
      // A stand-in for Electron's binary (none can run here): records how it was started.
      const fake = join(dist, 'electron');
      writeFileSync(fake, '#!/bin/sh\necho "started in $(pwd) with: $*"\nexit 3\n');
      chmodSync(fake, 0o755);
      const r = await run(process.execPath, [START, '--hidden'], {
        cwd: ROOT,
        env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: dist },
      });
      assert.equal(r.code, 3, r.stderr);
      assert.equal(r.stdout, `started in ${ROOT} with: . --hidden\n`);
    },
  );
});

describe('npm run test:e2e', () => {
  it('with no Electron binary and no E2E_APP it fails with one line, never a pass', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: tempDir() };
    delete env.E2E_APP;
    const r = await run(process.execPath, [join(ROOT, 'scripts', 'run-e2e.mjs')], {
      cwd: ROOT,
      env,
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^test:e2e: no Electron binary here .*the suite did not run\n$/);
    assert.doesNotMatch(r.stdout, /pass/);
    const missing = await run(process.execPath, [join(ROOT, 'scripts', 'run-e2e.mjs')], {
      cwd: ROOT,
      env: { ...process.env, E2E_APP: join(tempDir(), 'nothing.AppImage') },
    });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^test:e2e: E2E_APP=.* does not exist\n$/);
  });
});
