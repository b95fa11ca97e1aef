// The open-files limit as /proc/self/limits states it, and the connection cap sized under it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  connectionsWithin,
  openFilesLimit,
  parseOpenFilesLimit,
  SPARE_DESCRIPTORS,
} from '../../src/core/http/open-files.js';
import { needsLinux } from '../helpers/platform.js';

const limits = (soft: string, hard: string) =>
  `Limit                     Soft Limit           Hard Limit           Units     \n` +
  `Max cpu time              unlimited            unlimited            seconds   \n` +
  `Max open files            ${soft.padEnd(20)} ${hard.padEnd(20)} files     \n`;

describe('open-files limit', () => {
  it('parses the soft and hard limits; unlimited soft means no bound', () => {
    assert.deepEqual(parseOpenFilesLimit(limits('1024', '524288')), { soft: 1024, hard: 524288 });
    assert.deepEqual(parseOpenFilesLimit(limits('1024', 'unlimited')), {
      soft: 1024,
      hard: Infinity,
    });
    assert.equal(parseOpenFilesLimit(limits('unlimited', 'unlimited')), null);
    assert.equal(parseOpenFilesLimit('garbage'), null);
  });

  it('this process: what /proc says, on Linux', { skip: needsLinux('/proc/self/limits') }, () => {
    const own = parseOpenFilesLimit(readFileSync('/proc/self/limits', 'utf8'));
    assert.deepEqual(openFilesLimit(), own);
  });

  it(
    'a proxy started under a low soft limit runs with the hard one (Node raises it as it starts)',
    { skip: needsLinux('/proc/self/limits') },
    () => {
      // The same kind of process as `--console`: plain Node, reading its own limit.
      const r = spawnSync(
        'bash',
        [
          '-c',
          'ulimit -Sn 256 && ulimit -Hn 4096 && exec "$0" -e "$1"',
          process.execPath,
          `process.stdout.write(require('node:fs').readFileSync('/proc/self/limits', 'utf8'))`,
        ],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(parseOpenFilesLimit(r.stdout), { soft: 4096, hard: 4096 });
    },
  );

  it('the cap: the setting when the limit allows it, else half of what the spare leaves', () => {
    assert.equal(connectionsWithin(1024, null), 1024);
    assert.equal(connectionsWithin(1024, { soft: 65536, hard: 65536 }), 1024);
    assert.equal(
      connectionsWithin(1024, { soft: 1024, hard: 4096 }),
      (1024 - SPARE_DESCRIPTORS) / 2,
    );
    assert.equal(connectionsWithin(1024, { soft: 256, hard: 256 }), (256 - SPARE_DESCRIPTORS) / 2);
    assert.equal(connectionsWithin(1024, { soft: 32, hard: 32 }), 8, 'never below 8');
  });
});
