// The listen fallback end to end, in a network namespace of the test's own (unshare -n):
// the configured address does not exist yet, the proxy serves on 127.0.0.1 meanwhile, and
// moves to the configured address as soon as it appears.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { run } from '../helpers/openssh.js';
import { needsLinux } from '../helpers/platform.js';

describe('listen fallback', { skip: needsLinux('unshare -n and ip: a network namespace') }, () => {
  it('serves on 127.0.0.1 until the configured address appears, then switches to it', async (t) => {
    const probe = await run('unshare', ['-n', 'true']);
    if (probe.code !== 0) {
      // CI runs as root, where this never skips; a developer without the privilege sees why.
      t.skip(
        `unshare -n is not permitted here (${probe.stderr.trim()}); run as root to test the fallback`,
      );
      return;
    }
    const script = join(__dirname, '..', 'helpers', 'netns-listen.ts');
    const r = await run('unshare', ['-n', process.execPath, '--import', 'tsx', script], {
      timeoutMs: 20_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(lines, [
      '192.0.2.1:7221 is not available yet; serving on 127.0.0.1:7221 and retrying every 0.2 s',
      'serving 127.0.0.1:7221; 127.0.0.1 answers 200',
      'now listening on 192.0.2.1:7221',
      'serving 192.0.2.1:7221; 192.0.2.1 answers 200',
    ]);
  });
});
