// The audit trail as the proxy relies on it: a decision's record is written before its
// answer leaves, and when it cannot be written nothing is signed. A failed write makes the
// trail unavailable: every later signature or login is refused (503 audit-unavailable)
// without reaching a person or the agent, one log line says so, and listeners (the tray,
// the console) are told. It recovers by itself: an `audit-resumed` record is tried before
// each request (one write shared by concurrent ones; requests are admitted, so rate-limited)
// and every RETRY_MS, and once that write works the trail is available again.
import { ProxyError } from '../errors.js';
import type { Logger } from '../logger.js';
import { cleanAuditRecord, type AuditRecord, type AuditSink } from './audit.js';

export interface AuditStatus {
  writable: boolean;
  /** Why not (the write's error), when not writable. */
  reason: string | null;
}

export const auditUnavailable = () =>
  new ProxyError(
    503,
    'audit-unavailable',
    'the audit log cannot be written, so nothing is signed; free disk space or fix the logs folder in the config dir',
  );

/** While unwritable, a write is tried this often by itself, so the trail comes back without traffic. */
export const RETRY_MS = 2_000;

export class AuditTrail {
  private state: AuditStatus = { writable: true, reason: null };
  private readonly listeners = new Set<(s: AuditStatus) => void>();
  /** Records that could not be written while unavailable (said in the resumed record). */
  private refusedWhileDown = 0;
  private since = '';
  private probe: Promise<void> | null = null;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly sink: AuditSink,
    private readonly log: Logger,
    /** Told of the records the trail writes itself (audit-resumed), once written. */
    private readonly written: (rec: AuditRecord) => void = () => {},
    private readonly now: () => Date = () => new Date(),
  ) {}

  status(): AuditStatus {
    return { ...this.state };
  }

  onStatus(fn: (s: AuditStatus) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Write one record (made display-safe) and resolve once the write has returned. Rejects
   * with 503 audit-unavailable when it failed: the caller must not send what it recorded.
   */
  async record(raw: AuditRecord): Promise<AuditRecord> {
    const rec = cleanAuditRecord(raw);
    try {
      await this.sink.write(rec);
    } catch (err) {
      this.down(err);
      this.refusedWhileDown++;
      throw auditUnavailable();
    }
    return rec;
  }

  /**
   * Before a request is worked on: resolves when the trail is writable. While it is not,
   * one write (shared by concurrent callers) tries to record that it is back; rejects with
   * 503 audit-unavailable while that fails.
   */
  async ready(): Promise<void> {
    if (this.state.writable) return;
    if (!this.probe) this.startProbe();
    await this.probe;
    if (!this.state.writable) throw auditUnavailable();
  }

  /** Stop retrying (the proxy is closing). */
  close(): void {
    if (this.retry) clearInterval(this.retry);
    this.retry = null;
  }

  private startProbe(): void {
    this.probe = this.tryResume().finally(() => (this.probe = null));
  }

  private async tryResume(): Promise<void> {
    const rec = cleanAuditRecord({
      time: this.now().toISOString(),
      id: `audit-${this.now().getTime()}`,
      client: 'proxy',
      remote: '',
      key: null,
      namespace: null,
      what: `the audit log was unwritable since ${this.since} (${this.state.reason}); ${this.refusedWhileDown} requests were refused meanwhile`,
      decision: 'none',
      decidedBy: null,
      status: 0,
      outcome: 'audit-resumed',
      ms: 0,
      kind: 'audit',
    });
    try {
      await this.sink.write(rec);
    } catch {
      return; // still down: said once already
    }
    this.refusedWhileDown = 0;
    this.state = { writable: true, reason: null };
    this.close();
    this.log.info('the audit log can be written again: signing and logins resume');
    this.written(rec);
    this.tell();
  }

  private down(err: unknown): void {
    if (!this.state.writable) return;
    const reason = err instanceof Error ? err.message : String(err);
    this.state = { writable: false, reason };
    this.since = this.now().toISOString();
    this.retry = setInterval(() => {
      if (!this.probe) this.startProbe();
    }, RETRY_MS);
    this.retry.unref();
    this.log.error(
      `cannot write the audit log (${reason}): signing and logins are refused until it can be written`,
    );
    this.tell();
  }

  private tell(): void {
    for (const fn of this.listeners) {
      try {
        fn(this.status());
      } catch {
        // a listener's failure is its own
      }
    }
  }
}
