// Refusals that no one decided — a request refused before it was admitted (no token, a bad
// or dead token, a browser, a foreign Host, the rate limit), and an admitted request
// refused without a person's answer (a bad request, a key or namespace not allowed, a key
// the agent lacks, signing paused, policy deny, shutting down) — are counted, not recorded
// one by one: one summary line per source per interval, written apart from the decisions.
// An admitted caller's first few such refusals an interval are still recorded (a person
// debugging a login wants to see the occasional one), per source and in all bounded. So a
// flood of them (a million requests, from a token holder or not) costs a few lines and can
// never rotate a decision's record away. No signature and no person's answer is ever only
// counted. The number of sources named per interval is bounded; the rest are lumped together.
import type { ClientInfo } from './client.js';
import type { AuditRecord } from './audit.js';

export const REFUSAL_INTERVAL_MS = 60_000;
/** Undecided refusals of one source recorded one by one per interval; past that counted. */
export const RECORDS_PER_SOURCE = 10;
/** …and of all sources together, so the bound does not grow with the number of sources. */
export const RECORDS_PER_INTERVAL = 20;
/** Sources named one by one per interval; the others share one line. */
export const REFUSAL_SOURCES = 16;

/** Who was refused: the client's stable id, its name and address, its token's id if any. */
export type RefusalSource = Pick<ClientInfo, 'id' | 'name' | 'address'> & {
  token?: { id: string };
};

/**
 * A request's record that may be only counted: refused, and neither allowed nor answered
 * by a person (a prompt that timed out was shown to one: it stays too).
 */
export function isUndecidedRefusal(
  r: Pick<AuditRecord, 'status' | 'decision' | 'decidedBy' | 'kind'>,
): boolean {
  if ((r.kind ?? 'request') !== 'request' || r.status === 200) return false;
  if (r.decision === 'allowed') return false;
  return r.decidedBy !== 'person' && r.decidedBy !== 'timeout';
}

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
  /** Undecided refusals recorded one by one this interval: per source, and in all. */
  private individual = new Map<string, number>();
  private individualTotal = 0;
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
  count(client: RefusalSource, code: string): void {
    const key = `${client.id}\n${client.name}\n${client.address}`;
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

  /**
   * Whether one more undecided refusal of `client` may be recorded one by one in this
   * interval (else count it). Constant time, bounded memory.
   */
  mayRecordIndividually(client: RefusalSource): boolean {
    if (this.individualTotal >= RECORDS_PER_INTERVAL) return false;
    let key = client.id;
    if (
      !this.individual.has(key) &&
      this.individual.size >= (this.opts.maxSources ?? REFUSAL_SOURCES)
    )
      key = '\nother';
    const n = this.individual.get(key) ?? 0;
    if (n >= RECORDS_PER_SOURCE) return false;
    this.individual.set(key, n + 1);
    this.individualTotal++;
    return true;
  }

  /** Emit the summaries counted so far and start a new interval. */
  flush(): void {
    const from = this.started;
    const to = this.now();
    this.started = to;
    this.individual = new Map();
    this.individualTotal = 0;
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
