// The per-OS skip reasons: none may fire on Linux (CI there must run everything), each is a
// sentence where it fires, and the file-mode check still catches a wrong mode.
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/openssh.js';
import * as platform from '../helpers/platform.js';

const reasons: Record<string, string | false> = {
  needsPosixShell: platform.needsPosixShell,
  needsUtilLinuxScript: platform.needsUtilLinuxScript,
  needsLinux: platform.needsLinux('a Linux-only peer'),
  needsPosixSignals: platform.needsPosixSignals,
  needsModeBits: platform.needsModeBits,
  needsPrivateAgent: platform.needsPrivateAgent,
  needsSymlinks: platform.needsSymlinks,
};

describe('skip reasons per OS', () => {
  it('on Linux nothing is skipped; elsewhere a skip is a sentence, never a bare true', () => {
    for (const [name, r] of Object.entries(reasons)) {
      if (process.platform === 'linux') assert.equal(r, false, name);
      else assert.ok(r === false || (typeof r === 'string' && r.startsWith('needs ')), name);
    }
    if (process.platform === 'win32') {
      assert.equal(typeof platform.needsPosixShell, 'string');
      assert.equal(typeof platform.needsPrivateAgent, 'string');
    }
    if (process.platform === 'darwin') {
      assert.equal(platform.needsPosixShell, false, 'macOS has sh');
      assert.equal(platform.needsPrivateAgent, false, 'macOS has ssh-agent -D -a');
      assert.equal(typeof platform.needsUtilLinuxScript, 'string');
    }
  });

  it('windowsSystemEnv adds nothing off Windows, so a child env stays as the test wrote it', () => {
    if (process.platform !== 'win32') assert.deepEqual(platform.windowsSystemEnv(), {});
    else assert.ok(platform.windowsSystemEnv().SystemRoot, 'Winsock needs SystemRoot');
  });

  it('assertFileMode fails on a wrong mode where modes mean something', (t) => {
    const f = join(tempDir(), 'f');
    writeFileSync(f, 'x', { mode: 0o600 });
    platform.assertFileMode(t, f, 0o600);
    if (platform.needsModeBits) return t.skip(platform.needsModeBits);
    chmodSync(f, 0o644);
    assert.throws(() => platform.assertFileMode(t, f, 0o600), assert.AssertionError);
  });
});
