// Who may hold the proxy's connections. One global cap alone lets one caller (one loopback
// alias, one container) hold every slot with connections that never send a byte, and a
// client with a valid token is then refused at accept. So: a connection counts against
// its source address until a request on it authenticates with a token; each source holds
// at most its share of the unauthenticated ones, and all of them together never the last
// slots. A connection that has sent nothing is dropped after a short deadline; when a
// source (or the whole) is at its limit, its oldest unauthenticated connection (a silent
// one first) makes room for the newcomer — a real client sends its request at once and
// authenticates, so a flood churns through its own connections, not the client's.
// Refusals are logged, at most one line a few seconds apart, with counts.
import type { Socket } from 'node:net';
import type { Logger } from '../logger.js';

export interface ConnectionGateOptions {
  /** Connections at once, of any kind (the server's own cap is set to it). */
  total: number;
  /** Unauthenticated connections one source address may hold. */
  perSource: number;
  /** Slots of `total` that unauthenticated connections never take. */
  reserve: number;
  /** A connection that has sent nothing this long is closed. */
  silentMs: number;
  log: Logger;
  /** What the log calls these connections, e.g. `HTTP`. */
  what: string;
}

/** Shares of `total`: a source holds at most an eighth; an eighth is kept for tokens. */
export function connectionShares(total: number): { perSource: number; reserve: number } {
  return {
    perSource: Math.max(4, Math.floor(total / 8)),
    reserve: Math.max(1, Math.floor(total / 8)),
  };
}

const LOG_EVERY_MS = 5_000;

interface Tracked {
  socket: Socket;
  source: string;
  timer: NodeJS.Timeout;
}

export class ConnectionGate {
  /** Unauthenticated connections, oldest first (a Set keeps insertion order). */
  private readonly anonymous = new Set<Tracked>();
  private readonly bySource = new Map<string, Set<Tracked>>();
  private readonly tracked = new WeakMap<Socket, Tracked>();
  private refused = 0;
  private evicted = 0;
  private lastSource = '';
  private lastLog = 0;
  private logTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: ConnectionGateOptions) {}

  /** Unauthenticated connections held now (all, or of one source). */
  held(source?: string): number {
    return source === undefined ? this.anonymous.size : (this.bySource.get(source)?.size ?? 0);
  }

  /** A connection was accepted: keep it (possibly closing a silent one) or close it. */
  accept(socket: Socket, source: string): boolean {
    const mine = this.bySource.get(source);
    if ((mine?.size ?? 0) >= this.opts.perSource && !this.evictSilent(mine!)) {
      return this.refuse(socket, source);
    }
    if (
      this.anonymous.size >= this.opts.total - this.opts.reserve &&
      !this.evictSilent(this.anonymous)
    ) {
      return this.refuse(socket, source);
    }
    const t: Tracked = {
      socket,
      source,
      timer: setTimeout(() => {
        // Bytes read by the handle count even when the HTTP parser consumes them directly.
        // After a stall of the event loop, timers run before the reads that were waiting
        // meanwhile: judge silence only after this turn's reads (setImmediate runs after
        // them), so a client that sent at once is never closed because the proxy was busy.
        if (socket.bytesRead === 0)
          setImmediate(() => {
            if (socket.bytesRead === 0) socket.destroy();
          });
      }, this.opts.silentMs),
    };
    t.timer.unref();
    this.anonymous.add(t);
    let set = this.bySource.get(source);
    if (!set) this.bySource.set(source, (set = new Set()));
    set.add(t);
    this.tracked.set(socket, t);
    socket.once('close', () => this.forget(socket));
    return true;
  }

  /** A request on `socket` authenticated with a token: it no longer counts against its source. */
  authenticated(socket: Socket): void {
    this.forget(socket);
  }

  private forget(socket: Socket): void {
    const t = this.tracked.get(socket);
    if (!t) return;
    this.tracked.delete(socket);
    clearTimeout(t.timer);
    this.anonymous.delete(t);
    const set = this.bySource.get(t.source);
    set?.delete(t);
    if (set?.size === 0) this.bySource.delete(t.source);
  }

  /**
   * Make room in `set`: close its oldest connection that has sent nothing, else its oldest
   * (one still sending its headers). The newcomer is kept: a real client sends its request
   * at once and is past this gate before many more connections of its source arrive.
   */
  private evictSilent(set: Set<Tracked>): boolean {
    let victim: Tracked | undefined;
    for (const t of set) {
      if (t.socket.bytesRead > 0) continue;
      victim = t;
      break;
    }
    victim ??= set.values().next().value;
    if (!victim) return false;
    this.forget(victim.socket);
    victim.socket.destroy();
    this.evicted++;
    this.lastSource = victim.source;
    this.report();
    return true;
  }

  private refuse(socket: Socket, source: string): false {
    socket.destroy();
    this.refused++;
    this.lastSource = source;
    this.report();
    return false;
  }

  /** One line now and then, never one per connection (a flood must not flood the log). */
  private report(): void {
    const flush = () => {
      this.logTimer = null;
      this.lastLog = Date.now();
      if (this.refused + this.evicted === 0) return;
      this.opts.log.warn(
        `${this.opts.what} connections: ${this.refused} refused and ${this.evicted} closed to make room (most recently from ${this.lastSource}); each address holds at most ${this.opts.perSource} unauthenticated connections, ${this.opts.total} in all`,
      );
      this.refused = 0;
      this.evicted = 0;
    };
    if (this.logTimer) return;
    const wait = this.lastLog + LOG_EVERY_MS - Date.now();
    if (wait <= 0) return flush();
    this.logTimer = setTimeout(flush, wait);
    this.logTimer.unref();
  }
}
