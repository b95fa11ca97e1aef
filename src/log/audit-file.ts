// The audit trail as its own file (one JSON line per record), mode 0600, rotated by size
// with a bounded number of old files kept. A record's write is awaited before its answer
// leaves (records of concurrent requests share one write, and in `fsync` mode one sync);
// refusal summaries go to a small file of their own, so they never rotate decisions away.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cleanAuditRecord, type AuditRecord, type AuditSink } from '../core/approval/audit.js';
import { AppendFile } from './append-file.js';
import { rotatedPaths } from './rotate.js';

/** `write`: the write call has returned (the OS holds it; a process kill loses nothing). `fsync`: on disk (power loss too). */
export type AuditSync = 'write' | 'fsync';

/** The refusal summaries' file is rotated at this size, one old file kept: 2 MiB at most. */
export const REFUSALS_MAX_BYTES = 1024 * 1024;
export const REFUSALS_KEEP = 1;

export function auditPath(configDir: string): string {
  return join(configDir, 'logs', 'audit.log');
}

export function refusalsPath(configDir: string): string {
  return join(configDir, 'logs', 'refusals.log');
}

/** Current file last: the order `readAudit` wants. */
export function auditFiles(configDir: string, keep: number): string[] {
  const current = auditPath(configDir);
  return [...rotatedPaths(current, keep).reverse(), current];
}

/** The refusal summaries' files, current last. */
export function refusalFiles(configDir: string): string[] {
  const current = refusalsPath(configDir);
  return [...rotatedPaths(current, REFUSALS_KEEP).reverse(), current];
}

export function auditFileSink(
  configDir: string,
  opts: { maxBytes: number; keep: number; sync?: AuditSync; onError?: (err: Error) => void },
): AuditSink {
  const file = new AppendFile(auditPath(configDir), {
    maxBytes: opts.maxBytes,
    keep: opts.keep,
    sync: opts.sync === 'fsync',
    onError: opts.onError,
  });
  return {
    write: (rec: AuditRecord) => file.append(JSON.stringify(rec)),
    flush: () => file.close(),
  };
}

/**
 * One record from a short-lived command (`token create`, `token revoke`), written at once
 * beside the running proxy's (appends of whole lines do not interleave). Throws when it
 * cannot be written.
 */
export function appendAuditSync(configDir: string, rec: AuditRecord): void {
  const path = auditPath(configDir);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  appendFileSync(path, `${JSON.stringify(cleanAuditRecord(rec))}\n`, { mode: 0o600 });
}

/** Refusal summaries: written off any request's path, bounded in size. */
export function refusalFileSink(configDir: string): AuditSink {
  const file = new AppendFile(refusalsPath(configDir), {
    maxBytes: REFUSALS_MAX_BYTES,
    keep: REFUSALS_KEEP,
  });
  return {
    write: (rec: AuditRecord) => file.append(JSON.stringify(rec)),
    flush: () => file.close(),
  };
}
