// The audit trail as its own electron-log file (one JSON line per request), mode 0600,
// rotated by size with a bounded number of old files kept.
import { join } from 'node:path';
import electronLog from 'electron-log/node';
import type { AuditRecord, AuditSink } from '../core/audit.js';
import { rotate, rotatedPaths } from './rotate.js';

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
  opts: { maxBytes: number; keep: number },
): AuditSink {
  const log = electronLog.create({ logId: `ssh-agent-proxy-audit-${configDir}` });
  log.transports.console.level = false;
  log.transports.file.level = 'info';
  log.transports.file.format = '{text}';
  log.transports.file.resolvePathFn = () => auditPath(configDir);
  log.transports.file.maxSize = opts.maxBytes;
  log.transports.file.writeOptions = { flag: 'a', mode: 0o600, encoding: 'utf8' };
  log.transports.file.archiveLogFn = (file) => rotate(file.toString(), opts.keep);
  return { write: (rec: AuditRecord) => log.info(JSON.stringify(rec)) };
}
