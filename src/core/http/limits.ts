// Resource limits that keep floods and slow clients from exhausting the proxy without
// breaking legitimate work: a budget of request-body bytes (shared, with a per-client
// share), and a per-client rate limit on /sign that slows a burst before it refuses one.
import { realClock, type Clock } from '../clock.js';
import { ProxyError } from '../errors.js';

export function busy(why = 'too much request data is in flight right now'): ProxyError {
  return new ProxyError(429, 'busy', `${why}; retry shortly`, { 'Retry-After': '2' });
}

/**
 * Body bytes in flight across every request at once (so 1,000 × 16 MiB cannot happen),
 * and per client at most its share, so one client's large requests waiting for a person
 * cannot leave every other client with `busy`.
 */
export class ByteBudget {
  private used = 0;
  private readonly byClient = new Map<string, number>();

  constructor(
    readonly limit: number,
    /** Most one client may hold; at least one whole maximum-size body. */
    readonly perClient: number = limit,
  ) {}

  get inUse(): number {
    return this.used;
  }

  heldBy(client: string): number {
    return this.byClient.get(client) ?? 0;
  }

  /** Take `n` bytes for `client`; null when granted, else why not. */
  take(client: string, n: number): string | null {
    const mine = this.heldBy(client);
    if (mine + n > this.perClient)
      return 'this client already has its share of request data in flight';
    if (this.used + n > this.limit) return 'too much request data is in flight right now';
    this.used += n;
    this.byClient.set(client, mine + n);
    return null;
  }

  give(client: string, n: number): void {
    if (n <= 0) return;
    this.used = Math.max(0, this.used - n);
    const left = this.heldBy(client) - n;
    if (left > 0) this.byClient.set(client, left);
    else this.byClient.delete(client);
  }
}

export interface RateOptions {
  /** Sustained sign requests a minute per client; 0 turns the limit off. */
  perMinute: number;
  /** Requests a client may make at once before it is slowed (the bucket's size). */
  burst: number;
  /** Requests of one client that may wait for their turn; past it, 429 at once. */
  queue: number;
  /** Longest a request waits for its turn; a longer wait is refused at once. */
  maxWaitMs: number;
}

interface Bucket {
  tokens: number;
  at: number;
  /** Requests waiting for a token, first come first served. */
  waiters: { resolve: () => void; cancel: () => void }[];
  timer: (() => void) | null;
}

/**
 * Token bucket per client. A client within its burst goes straight through; past it, a
 * request waits its turn in a short queue (a sequential `git rebase` is slowed to the
 * sustained rate, never refused); only a client with `queue` requests already waiting, or
 * one that would wait longer than `maxWaitMs`, gets 429 `rate-limited` with Retry-After.
 * Buckets are per client, so a flood from one spends only its own.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly clock: Clock;

  constructor(
    private opts: RateOptions,
    clock: Clock = realClock,
  ) {
    this.clock = clock;
  }

  setLimit(perMinute: number): void {
    this.opts = { ...this.opts, perMinute };
  }

  private refill(b: Bucket): void {
    const t = this.clock.now();
    b.tokens = Math.min(this.opts.burst, b.tokens + ((t - b.at) * this.opts.perMinute) / 60_000);
    b.at = t;
  }

  /**
   * Resolves when the request may go on; rejects with 429 or when `signal` aborts. The
   * signal may be given as a function, called only when the request has to wait.
   */
  admit(client: string, abortSignal?: AbortSignal | (() => AbortSignal)): Promise<void> {
    const { perMinute, burst, queue, maxWaitMs } = this.opts;
    if (perMinute <= 0) return Promise.resolve();
    let b = this.buckets.get(client);
    if (!b) {
      if (this.buckets.size >= 10_000) this.prune();
      b = { tokens: burst, at: this.clock.now(), waiters: [], timer: null };
      this.buckets.set(client, b);
    }
    this.refill(b);
    if (b.waiters.length === 0 && b.tokens >= 1) {
      b.tokens -= 1;
      return Promise.resolve();
    }
    const msPerToken = 60_000 / perMinute;
    // This request is served after the ones already waiting.
    const wait = Math.ceil((b.waiters.length + 1 - b.tokens) * msPerToken);
    if (b.waiters.length >= queue || wait > maxWaitMs) {
      return Promise.reject(
        new ProxyError(
          429,
          'rate-limited',
          `this client is over ${perMinute} sign requests a minute (bursts of ${burst}) with ${b.waiters.length} already waiting; see SSH_AGENT_PROXY_RATE_LIMIT`,
          { 'Retry-After': String(Math.max(1, Math.ceil(wait / 1000))) },
        ),
      );
    }
    const bucket = b;
    const signal = typeof abortSignal === 'function' ? abortSignal() : abortSignal;
    if (signal?.aborted)
      return Promise.reject(new ProxyError(499, 'cancelled', 'the requester hung up'));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = bucket.waiters.indexOf(waiter);
        if (i >= 0) bucket.waiters.splice(i, 1);
        reject(new ProxyError(499, 'cancelled', 'the requester hung up'));
      };
      const waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        cancel: onAbort,
      };
      bucket.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.schedule(bucket);
    });
  }

  /** Wake the first waiter when its token has accrued. */
  private schedule(b: Bucket): void {
    if (b.timer || b.waiters.length === 0) return;
    this.refill(b);
    const ms = Math.max(0, Math.ceil((1 - b.tokens) * (60_000 / this.opts.perMinute)));
    b.timer = this.clock.setTimer(() => {
      b.timer = null;
      this.refill(b);
      while (b.waiters.length > 0 && (b.tokens >= 1 || this.opts.perMinute <= 0)) {
        if (this.opts.perMinute > 0) b.tokens -= 1;
        b.waiters.shift()!.resolve();
      }
      this.schedule(b);
    }, ms);
  }

  private prune(): void {
    const t = this.clock.now();
    for (const [k, b] of this.buckets) {
      if (b.waiters.length === 0 && t - b.at > 60_000) this.buckets.delete(k);
    }
  }
}
