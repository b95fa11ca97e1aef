// The audit trail as its own file (one JSON line per request), mode 0600, rotated by size
// with a bounded number of old files kept, written without blocking the request.
import { join } from 'node:path';
import type { AuditRecord, AuditSink } from '../core/approval/audit.js';
import { AppendFile } from './append-file.js';
import { rotatedPaths } from './rotate.js';

/** Records of one tenth of a second are written together (flushed at shutdown). */
export const AUDIT_BATCH_MS = 100;

export function auditPath(configDir: string): string {
  return join(configDir, 'logs', 'audit.log');
}

/** Current file last: the order `readAudit` wants. */
export function auditFiles(configDir: string, keep: number): string[] {
  const current = auditPath(configDir);
  return [...rotatedPaths(current, keep).reverse(), current];
}

export function auditFileSink(
  configDir: string,
  opts: { maxBytes: number; keep: number; onError?: (err: Error) => void },
): AuditSink {
  const file = new AppendFile(auditPath(configDir), { batchMs: AUDIT_BATCH_MS, ...opts });
  return {
    write: (rec: AuditRecord) => file.write(JSON.stringify(rec)),
    flush: () => file.close(),
  };
}
