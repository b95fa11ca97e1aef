// Host-key checks one client may cause: a bucket of cost units per client (see
// verificationCost), refilled at a steady rate. Each check runs on the proxy's one thread,
// so without it one client's binds — each a fresh connection, under its one token — slow
// every other client's signing. ssh makes one bind per login (one per hop with -A), so
// the bucket holds many logins' worth; a flood finds it empty and its binds are refused
// unchecked.
import { realClock, type Clock } from '../clock.js';

export interface VerificationBudgetOptions {
  /** Units a client may spend at once (a full bucket). */
  burst: number;
  /** Units a client gets back each second. */
  perSecond: number;
}

/** A few dozen logins at once, a few a second sustained, to hosts with 2,048-bit RSA keys. */
export const DEFAULT_VERIFICATION_BUDGET: VerificationBudgetOptions = {
  burst: 256,
  perSecond: 32,
};

export class VerificationBudget {
  private readonly buckets = new Map<string, { units: number; at: number }>();

  constructor(
    private readonly opts: VerificationBudgetOptions = DEFAULT_VERIFICATION_BUDGET,
    private readonly clock: Clock = realClock,
  ) {}

  /** Spend `cost` units of `client`'s budget; false (nothing spent) when it has too few. */
  spend(client: string, cost: number): boolean {
    const now = this.clock.now();
    let b = this.buckets.get(client);
    if (!b) {
      if (this.buckets.size >= 10_000) this.prune(now);
      b = { units: this.opts.burst, at: now };
      this.buckets.set(client, b);
    }
    b.units = Math.min(this.opts.burst, b.units + ((now - b.at) / 1000) * this.opts.perSecond);
    b.at = now;
    if (b.units < cost) return false;
    b.units -= cost;
    return true;
  }

  /** Forget clients whose buckets have filled up again. */
  private prune(now: number): void {
    const full = (this.opts.burst / this.opts.perSecond) * 1000;
    for (const [k, b] of this.buckets) if (now - b.at >= full) this.buckets.delete(k);
  }
}
