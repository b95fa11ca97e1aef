// Agent connections kept between requests. Dialling the agent, and its accept and close,
// were a fifth of what the proxy spent on a request (`npm run bench`, issue #11); the
// agent protocol carries any number of requests on one connection, one at a time.
//
// Only the connection is kept, never what the agent said: every request still lists or
// signs on the agent as it is now, so a key added, removed or rotated counts on the very
// next request. A kept connection is never session-bound (the agent endpoint dials its own,
// agent-endpoint/upstream.ts), so it carries no destination restriction from another use.
import { AgentConnection, StaleAgentConnection, type AgentTimeouts } from './agent-client.js';

export interface AgentPoolOptions {
  timeouts: AgentTimeouts;
  /** Idle connections kept at most (one per concurrent request is enough). */
  maxIdle: number;
  /** An idle connection is closed after this long: the agent is not held open for nothing. */
  idleMs: number;
}

interface Idle {
  conn: AgentConnection;
  timer: NodeJS.Timeout;
}

export class AgentPool {
  private readonly idle: Idle[] = [];
  private closed = false;

  constructor(private readonly opts: AgentPoolOptions) {}

  /**
   * Run `fn` on a connection to the agent at `path`: a kept one when there is one, else a
   * fresh one. On a kept one the agent had closed while idle, the first request cannot be
   * written (or is reset unread), and `fn` runs once more on a fresh connection: the
   * agent never took the request (StaleAgentConnection).
   */
  async use<T>(path: string, fn: (conn: AgentConnection) => Promise<T>): Promise<T> {
    const kept = this.take(path);
    if (kept) {
      try {
        return await this.run(kept, fn);
      } catch (err) {
        if (!(err instanceof StaleAgentConnection)) throw err;
      }
    }
    return this.run(await AgentConnection.open(path, this.opts.timeouts), fn);
  }

  /** Close every idle connection; those in use are closed when their request ends. */
  close(): void {
    this.closed = true;
    for (const { conn, timer } of this.idle.splice(0)) {
      clearTimeout(timer);
      conn.close();
    }
  }

  /** Idle connections now (for tests). */
  get size(): number {
    return this.idle.length;
  }

  private async run<T>(conn: AgentConnection, fn: (conn: AgentConnection) => Promise<T>) {
    try {
      return await fn(conn);
    } finally {
      this.giveBack(conn);
    }
  }

  private take(path: string): AgentConnection | null {
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const { conn, timer } = this.idle[i]!;
      if (conn.path !== path) continue;
      this.idle.splice(i, 1);
      clearTimeout(timer);
      // Half-closed by the agent, its close not yet seen: never handed out.
      if (!conn.reusable) {
        conn.close();
        continue;
      }
      conn.sock.ref();
      conn.mayBeStale = true;
      return conn;
    }
    return null;
  }

  private giveBack(conn: AgentConnection): void {
    if (this.closed || !conn.reusable || this.idle.length >= this.opts.maxIdle) {
      conn.close();
      return;
    }
    if (!watched.has(conn)) this.watch(conn);
    // An idle connection never keeps the process alive.
    conn.sock.unref();
    const timer = setTimeout(() => this.drop(conn, true), this.opts.idleMs);
    timer.unref();
    this.idle.push({ conn, timer });
  }

  /** Once per connection: while it is idle, anything from the agent ends it. */
  private watch(conn: AgentConnection): void {
    watched.add(conn);
    // Always a listener, so an error on an idle connection is never thrown.
    conn.sock.on('error', () => conn.close());
    conn.sock.on('close', () => this.drop(conn, false));
    // An answer nobody asked for: the agent is confused; never read it as the next answer.
    conn.sock.on('data', () => {
      if (conn.idle) this.drop(conn, true);
    });
  }

  private drop(conn: AgentConnection, close: boolean): void {
    const i = this.idle.findIndex((e) => e.conn === conn);
    if (i >= 0) clearTimeout(this.idle.splice(i, 1)[0]!.timer);
    if (close) conn.close();
  }
}

const watched = new WeakSet<AgentConnection>();
