import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatAudit, readAudit, type AuditRecord } from '../../src/core/approval/audit.js';
import { auditFiles, auditFileSink, auditPath } from '../../src/log/audit-file.js';
import { AppendFile } from '../../src/log/append-file.js';
import { consoleLogger } from '../../src/log/console-log.js';
import { Writable } from 'node:stream';
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

  it('append() resolves once its line is in the file; concurrent appends share writes and syncs', async () => {
    const dir = tempDir();
    const path = join(dir, 'logs', 'a.log');
    const file = new AppendFile(path, { maxBytes: 1 << 20, keep: 1, sync: true });
    // Count the real syncs (the FileHandle's own method, still called).
    const probe = await open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    const real = proto.datasync;
    let syncs = 0;
    proto.datasync = function (this: unknown) {
      syncs++;
      return real.call(this);
    };
    try {
      await file.append('first');
      assert.equal(readFileSync(path, 'utf8'), 'first\n', 'written when append() resolved');
      assert.equal(syncs, 1);
      const seen: boolean[] = [];
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          file.append(`line ${i}`).then(() => {
            seen.push(readFileSync(path, 'utf8').includes(`line ${i}\n`));
          }),
        ),
      );
      assert.ok(seen.every(Boolean), 'each line was in the file when its append() resolved');
      const lines = readFileSync(path, 'utf8').trim().split('\n');
      assert.deepEqual(lines, ['first', ...Array.from({ length: 50 }, (_, i) => `line ${i}`)]);
      assert.ok(syncs <= 3, `50 concurrent appends took ${syncs} syncs (shared: at most 2 more)`);
    } finally {
      proto.datasync = real;
      await file.close();
    }
  });

  it('append() rejects while the folder cannot hold the file, and works again once it can', async () => {
    const dir = tempDir();
    const logs = join(dir, 'logs');
    const file = new AppendFile(join(logs, 'a.log'), { maxBytes: 1 << 20, keep: 1 });
    writeFileSync(logs, 'a file where the folder should be');
    await assert.rejects(file.append('lost'));
    const { rmSync } = await import('node:fs');
    rmSync(logs);
    mkdirSync(logs);
    await file.append('kept');
    assert.equal(readFileSync(join(logs, 'a.log'), 'utf8'), 'kept\n');
    await file.close();
  });

  it('the console log says once that its file cannot be written, and once that it can again', async () => {
    const dir = tempDir();
    const logs = join(dir, 'logs');
    writeFileSync(logs, 'a file where the folder should be');
    let err = '';
    const stderr = new Writable({
      write(chunk: Buffer, _enc, done) {
        err += chunk.toString();
        done();
      },
    });
    const log = consoleLogger(dir, 'info', stderr);
    for (let i = 0; i < 3; i++) {
      log.info(`line ${i}`);
      await log.flush();
    }
    assert.equal(err.match(/cannot write the log file/g)?.length, 1, err);
    const { rmSync } = await import('node:fs');
    rmSync(logs);
    mkdirSync(logs);
    log.info('back');
    await log.flush();
    assert.equal(err.match(/the log file can be written again/g)?.length, 1, err);
    assert.match(readFileSync(join(logs, 'console.log'), 'utf8'), /\[info\] back\n$/);
  });
});
