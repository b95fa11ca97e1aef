// A failed audit write must not cut off records another process appended. A write cut short
// (a full disk) is truncated back so no half line stays; `ssh-agent-proxy token create|revoke`
// append their records to the same audit.log from another process while the proxy runs. The
// cut goes back to where the failed write began (the file's size just before it), never to a
// size the proxy remembered from its own last write: that would erase the record of a token
// made or revoked since (an attacker who can fill the disk — a sandbox writing to a shared
// folder on the same filesystem — could otherwise choose to). Needs root (a real full tmpfs).
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AppendFile } from '../../src/log/append-file.js';
import { auditPath } from '../../src/log/audit-file.js';
import { createToken } from '../helpers/fixtures.js';
import { onCleanup, run, tempDir } from '../helpers/openssh.js';

describe('a failed audit write and the records the CLI wrote', () => {
  it('keeps a token-created record the CLI appended after the proxy’s last write, and whole lines only', async (t) => {
    const cfg = tempDir('sap-tmpfs-');
    const mounted = await run('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', cfg]);
    if (mounted.code !== 0) return t.skip('cannot mount a tmpfs here (needs root)');
    onCleanup(() => run('umount', ['-l', cfg]));
    const file = new AppendFile(auditPath(cfg), { maxBytes: 10 << 20, keep: 1 });
    await file.append(JSON.stringify({ time: '2026-12-04T10:00:00.000Z', outcome: 'ok' }));
    // `ssh-agent-proxy token create box2` (the real CLI, another process) while the proxy runs.
    await createToken(cfg, 'box2');
    assert.match(readFileSync(auditPath(cfg), 'utf8'), /token-created/);
    // The disk fills up (bounded: the tmpfs is 256 KiB).
    const block = Buffer.alloc(4096, 0x61);
    for (let i = 0; i < 128; i++) {
      try {
        appendFileSync(join(cfg, 'filler'), block);
      } catch {
        break;
      }
    }
    // The proxy's next record does not fit (a long one, past the last page's room).
    await assert.rejects(file.append('x'.repeat(16 * 1024)));
    await file.close().catch(() => {});
    const text = readFileSync(auditPath(cfg), 'utf8');
    assert.match(text, /token-created/, 'the failed write cut off the CLI’s record');
    assert.ok(text.endsWith('\n'), 'a half line was left behind');
    for (const line of text.split('\n').filter(Boolean)) JSON.parse(line);
    assert.doesNotMatch(text, /xxxx/);
  });
});
