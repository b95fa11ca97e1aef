import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { describe, it } from 'node:test';
import { formatAudit, readAudit, type AuditRecord } from '../../src/core/approval/audit.js';
import { auditFiles, auditFileSink, auditPath } from '../../src/log/audit-file.js';
import { tempDir } from '../helpers/openssh.js';
import { assertFileMode } from '../helpers/platform.js';

const record = (i: number): AuditRecord => ({
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  id: `id-${i}`,
  client: 'box1',
  remote: '127.0.0.1',
  key: 'SHA256:k',
  namespace: 'git',
  what: `git commit "change ${i}" by A <a@x> (tree 4b825dc, root)`,
  decision: 'allowed',
  decidedBy: 'grant',
  status: 200,
  outcome: 'ok',
  ms: 3,
});

describe('audit file', () => {
  it('rotates by size and keeps a bounded number of old files; reads across them in order', async (t) => {
    const dir = tempDir();
    const sink = auditFileSink(dir, { maxBytes: 2048, keep: 2 });
    for (let i = 0; i < 60; i++) {
      sink.write(record(i));
      // Batches form as the writer is busy; flushing now and then makes rotation happen mid-run.
      if (i % 7 === 0) await sink.flush!();
    }
    await sink.flush!();
    const files = auditFiles(dir, 2);
    assert.ok(
      files.every((f) => existsSync(f)),
      'current + 2 rotated',
    );
    assert.equal(
      existsSync(auditPath(dir).replace('audit.log', 'audit.3.log')),
      false,
      'no third old file',
    );
    for (const f of files) {
      assertFileMode(t, f, 0o600);
      assert.ok(statSync(f).size < 4096);
    }
    const tail = readAudit(files, 5);
    assert.deepEqual(
      tail.map((r) => r.id),
      ['id-55', 'id-56', 'id-57', 'id-58', 'id-59'],
    );
    assert.equal(
      formatAudit(tail[0]!),
      '2026-01-01 00:00:55Z  200 ok  allowed by grant  box1  SHA256:k  git  git commit "change 55" by A <a@x> (tree 4b825dc, root)  3 ms',
    );
  });
});
