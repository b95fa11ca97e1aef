// Where the console can show a desktop notification, and the exact command it runs: text
// always as separate arguments (never through a shell, never inside the AppleScript).
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { notifyCommand } from '../../src/cli/desktop-notify.js';
import { tempDir } from '../helpers/openssh.js';
import { needsModeBits } from '../helpers/platform.js';

describe('notifyCommand', { skip: needsModeBits }, () => {
  const bin = join(tempDir(), 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'notify-send'), '#!/bin/sh\n');
  chmodSync(join(bin, 'notify-send'), 0o755);

  it('Linux: only with a display and notify-send on PATH', () => {
    assert.equal(notifyCommand({ PATH: bin }, 'linux'), null, 'no DISPLAY or WAYLAND_DISPLAY');
    assert.equal(notifyCommand({ PATH: '/nonexistent', DISPLAY: ':0' }, 'linux'), null);
    for (const env of [{ DISPLAY: ':0' }, { WAYLAND_DISPLAY: 'wayland-0' }]) {
      const cmd = notifyCommand({ PATH: bin, ...env }, 'linux');
      assert.ok(cmd);
      assert.deepEqual(cmd('T', '-rf "x"; `id`'), [
        join(bin, 'notify-send'),
        ['--app-name=SSH Agent Proxy', '--', 'T', '-rf "x"; `id`'],
      ]);
    }
  });

  it('macOS: osascript with the text as argv of the script, not in it', () => {
    const cmd = notifyCommand({ PATH: '/nonexistent' }, 'darwin')!;
    const [file, args] = cmd('Title "x"', 'Body" & do shell script "id');
    assert.equal(file, '/usr/bin/osascript');
    assert.deepEqual(args.slice(-2), ['Title "x"', 'Body" & do shell script "id']);
    assert.ok(args.slice(0, -2).every((a) => !a.includes('Body') && !a.includes('Title')));
  });

  it('Windows and the rest: none', () => {
    assert.equal(notifyCommand({ PATH: bin, DISPLAY: ':0' }, 'win32'), null);
    assert.equal(notifyCommand({ PATH: bin, DISPLAY: ':0' }, 'freebsd'), null);
  });

  it('long text is clipped', () => {
    const cmd = notifyCommand({ PATH: bin, DISPLAY: ':0' }, 'linux')!;
    const [, args] = cmd('t', 'x'.repeat(1000));
    assert.equal(args.at(-1)!.length, 200);
    assert.ok(args.at(-1)!.endsWith('…'));
  });
});
