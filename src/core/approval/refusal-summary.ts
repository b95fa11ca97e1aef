// Refusals that no one decided — a request refused before it was admitted (no token, a bad
// or dead token, a browser, a foreign Host, the rate limit) or an anonymous caller's
// request refused before anyone decided — are counted, not recorded one by one: one summary
// line per source per interval, written apart from the decisions. So a flood of them (a
// million tokenless requests) costs a few lines and can never rotate a decision's record
// away. The number of sources named per interval is bounded; the rest are lumped together.
import type { ClientInfo } from './client.js';
import type { AuditRecord } from './audit.js';

export const REFUSAL_INTERVAL_MS = 60_000;
/**
 * Refusals of anonymous agent-endpoint callers recorded one by one per interval (a person
 * debugging a login wants to see the occasional one); past that they are only counted.
 */
export const ANONYMOUS_RECORDS_PER_INTERVAL = 10;
/** Sources named one by one per interval; the others share one line. */
export const REFUSAL_SOURCES = 16;

interface Tally {
  client: string;
  remote: string;
  clientId: string | null;
  codes: Map<string, number>;
  total: number;
}

export interface RefusalSummaryOptions {
  intervalMs?: number;
  maxSources?: number;
  /** Receives the summary lines of an interval (none when nothing was refused). */
  emit: (records: AuditRecord[]) => void;
  now?: () => Date;
}

export class RefusalSummary {
  private tallies = new Map<string, Tally>();
  private individual = 0;
  private started: Date;
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => Date;

  constructor(private readonly opts: RefusalSummaryOptions) {
    this.now = opts.now ?? (() => new Date());
    this.started = this.now();
    this.timer = setInterval(() => this.flush(), opts.intervalMs ?? REFUSAL_INTERVAL_MS);
    this.timer.unref();
  }

  /** Count one refusal of `client` (by its reason code). Constant time, no I/O. */
  count(client: ClientInfo, code: string): void {
    const key = `${client.name}\n${client.address}`;
    let t = this.tallies.get(key);
    if (!t) {
      const named = this.tallies.size < (this.opts.maxSources ?? REFUSAL_SOURCES);
      const otherKey = '\nother';
      t = named ? undefined : this.tallies.get(otherKey);
      if (!t) {
        t = named
          ? {
              client: client.name,
              remote: client.address,
              clientId: client.token?.id ?? null,
              codes: new Map(),
              total: 0,
            }
          : { client: 'other sources', remote: '', clientId: null, codes: new Map(), total: 0 };
        this.tallies.set(named ? key : otherKey, t);
      }
    }
    t.total++;
    t.codes.set(code, (t.codes.get(code) ?? 0) + 1);
  }

  /** Whether one more refusal may be recorded one by one in this interval (else count it). */
  mayRecordIndividually(): boolean {
    if (this.individual >= ANONYMOUS_RECORDS_PER_INTERVAL) return false;
    this.individual++;
    return true;
  }

  /** Emit the summaries counted so far and start a new interval. */
  flush(): void {
    const from = this.started;
    const to = this.now();
    this.started = to;
    this.individual = 0;
    if (this.tallies.size === 0) return;
    const tallies = [...this.tallies.values()];
    this.tallies = new Map();
    const span = `${from.toISOString()} to ${to.toISOString()}`;
    this.opts.emit(
      tallies.map((t, i) => ({
        time: to.toISOString(),
        id: `refusals-${to.getTime()}-${i}`,
        client: t.client,
        clientId: t.clientId,
        remote: t.remote,
        key: null,
        namespace: null,
        what: `${t.total} requests refused before any decision, ${span}: ${[...t.codes]
          .sort((a, b) => b[1] - a[1])
          .map(([code, n]) => `${n} ${code}`)
          .join(', ')}`,
        decision: 'none',
        decidedBy: null,
        status: 0,
        outcome: 'refused',
        ms: 0,
        kind: 'refusals',
      })),
    );
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
