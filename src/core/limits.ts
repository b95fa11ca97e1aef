// Resource limits that keep floods and slow clients from exhausting the proxy: a budget
// of request-body bytes held across all requests, and a per-client rate limit on /sign.
import { ProxyError } from './errors.js';

/** Body bytes in flight across every request at once (so 1,000 × 16 MiB cannot happen). */
export class ByteBudget {
  private used = 0;
  constructor(readonly limit: number) {}

  get inUse(): number {
    return this.used;
  }

  take(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }

  give(n: number): void {
    this.used = Math.max(0, this.used - n);
  }
}

export function busy(): ProxyError {
  return new ProxyError(
    429,
    'busy',
    'too much request data is in flight right now; retry shortly',
    { 'Retry-After': '2' },
  );
}

/** Token bucket per client: `perMinute` signs, refilled continuously; 0 turns it off. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  setLimit(perMinute: number): void {
    this.perMinute = perMinute;
  }

  check(client: string): void {
    if (this.perMinute <= 0) return;
    const t = this.now();
    const b = this.buckets.get(client) ?? { tokens: this.perMinute, at: t };
    b.tokens = Math.min(this.perMinute, b.tokens + ((t - b.at) * this.perMinute) / 60_000);
    b.at = t;
    if (b.tokens < 1) {
      this.buckets.set(client, b);
      const wait = Math.ceil(((1 - b.tokens) * 60) / this.perMinute);
      throw new ProxyError(
        429,
        'rate-limited',
        `more than ${this.perMinute} sign requests a minute from this client`,
        { 'Retry-After': String(wait) },
      );
    }
    b.tokens -= 1;
    this.buckets.set(client, b);
    if (this.buckets.size > 10_000) this.prune(t);
  }

  private prune(t: number): void {
    for (const [k, b] of this.buckets) if (t - b.at > 60_000) this.buckets.delete(k);
  }
}
