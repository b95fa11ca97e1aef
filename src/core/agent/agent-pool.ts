// Agent connections kept between requests. Dialling the agent, and its accept and close,
// were a fifth of what the proxy spent on a request (`npm run bench`, issue #11); the
// agent protocol carries any number of requests on one connection, one at a time.
//
// Only the connection is kept, never what the agent said: every request still lists or
// signs on the agent as it is now, so a key added, removed or rotated counts on the very
// next request. A kept connection is never session-bound (the agent endpoint dials its own,
// agent-endpoint/upstream.ts), so it carries no destination restriction from another use.
// It is given up when the path names another socket than the one dialled (an agent
// restarted there, a re-pointed symlink), and after a while in any case.
import { statSync } from 'node:fs';
import { AgentConnection, StaleAgentConnection, type AgentTimeouts } from './agent-client.js';

export interface AgentPoolOptions {
  timeouts: AgentTimeouts;
  /** Idle connections kept at most (one per concurrent request is enough). */
  maxIdle: number;
  /** An idle connection is closed after this long: the agent is not held open for nothing. */
  idleMs: number;
  /** No connection is used after this long since it was dialled, however busy. */
  maxAgeMs: number;
}

interface Kept {
  conn: AgentConnection;
  /** What the path named when it was dialled (null where there is nothing to stat). */
  identity: string | null;
  born: number;
}

interface Idle extends Kept {
  timer: NodeJS.Timeout;
}

/** A path stat cannot read (e.g. a Linux abstract socket): its connections are not kept. */
const UNREADABLE = 'unreadable';

/** The socket a path names now: device and inode (Windows pipes: nothing to compare). */
function identityOf(path: string): string | null {
  if (process.platform === 'win32') return null;
  try {
    const s = statSync(path, { throwIfNoEntry: false });
    return s ? `${s.dev}:${s.ino}` : 'absent';
  } catch {
    return UNREADABLE;
  }
}

export class AgentPool {
  private readonly idle: Idle[] = [];
  private readonly kept = new WeakMap<AgentConnection, Kept>();
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
    return this.run(await this.dial(path), fn);
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

  private async dial(path: string): Promise<AgentConnection> {
    const identity = identityOf(path);
    const conn = await AgentConnection.open(path, this.opts.timeouts);
    this.kept.set(conn, { conn, identity, born: Date.now() });
    conn.sock.on('close', () => this.drop(conn));
    return conn;
  }

  private async run<T>(conn: AgentConnection, fn: (conn: AgentConnection) => Promise<T>) {
    try {
      return await fn(conn);
    } finally {
      this.giveBack(conn);
    }
  }

  private take(path: string): AgentConnection | null {
    let identity: string | null | undefined;
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const entry = this.idle[i]!;
      if (entry.conn.path !== path) continue;
      this.idle.splice(i, 1);
      clearTimeout(entry.timer);
      identity ??= identityOf(path);
      // Half-closed by the agent (its close not yet seen), too old, or the path now names
      // another socket: never handed out.
      if (
        !entry.conn.reusable ||
        Date.now() - entry.born >= this.opts.maxAgeMs ||
        entry.identity !== identity ||
        identity === UNREADABLE
      ) {
        entry.conn.close();
        continue;
      }
      entry.conn.sock.ref();
      entry.conn.mayBeStale = true;
      return entry.conn;
    }
    return null;
  }

  private giveBack(conn: AgentConnection): void {
    const kept = this.kept.get(conn);
    if (
      !kept ||
      kept.identity === UNREADABLE ||
      this.closed ||
      !conn.reusable ||
      this.idle.length >= this.opts.maxIdle
    ) {
      conn.close();
      return;
    }
    // An idle connection never keeps the process alive.
    conn.sock.unref();
    const timer = setTimeout(() => {
      this.drop(conn);
      conn.close();
    }, this.opts.idleMs);
    timer.unref();
    this.idle.push({ ...kept, timer });
  }

  private drop(conn: AgentConnection): void {
    const i = this.idle.findIndex((e) => e.conn === conn);
    if (i >= 0) clearTimeout(this.idle.splice(i, 1)[0]!.timer);
  }
}
