// The program at the other end of each same-host connection, looked up once per connection
// (a kept-alive connection's later requests reuse it) and within a small budget: a request
// never waits longer than that for it, and past it the program is "unknown". A few lookups
// run at once (a burst of connections shares one walk of /proc on Linux); one still waiting
// for its turn when its budget ends is dropped, so a flood cannot make the proxy scan
// without end. Connections from beyond loopback are not looked up: the host cannot see
// that process.
import type { Socket } from 'node:net';
import { isLoopbackHost } from '../host-port.js';
import type { PeerConnection, PeerFinder, PeerProcess } from './peer-process.js';

/** How long a request may wait for its program to be found (the lookup starts at accept). */
export const PEER_BUDGET_MS = 400;
/** Lookups running at once (each may start a tool on macOS and Windows). */
const MAX_RUNNING = 8;

export class ConnectionPeers {
  private readonly known = new WeakMap<Socket, Promise<PeerProcess | undefined>>();
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly finder: PeerFinder | null,
    private readonly budgetMs = finder?.budgetMs ?? PEER_BUDGET_MS,
  ) {}

  /**
   * The peer of `socket`; `unixPath` is the socket path it was accepted on, when it is a
   * Unix socket. Never rejects; resolves undefined when unknown or past the budget.
   */
  of(socket: Socket, unixPath?: string): Promise<PeerProcess | undefined> {
    let p = this.known.get(socket);
    if (!p) {
      p = this.lookup(socket, unixPath);
      this.known.set(socket, p);
    }
    return p;
  }

  /**
   * Call `serve` with the connection's program once it is known or the budget ran out — the
   * socket is not read meanwhile, its bytes wait. A client that hangs up meanwhile (end with
   * nothing sent, error, close) is dropped at once and `gone` called instead, so what it
   * was counted against is given back without waiting for the lookup.
   */
  thenServe(
    socket: Socket,
    unixPath: string | undefined,
    serve: (program: PeerProcess | undefined) => void,
    gone: () => void,
  ): void {
    let settled = false;
    const settle = () => {
      settled = true;
      socket.off('end', leave);
      socket.off('error', leave);
      socket.off('close', leave);
    };
    // 'end' before anything is read means nothing was sent: there is nothing to answer.
    function leave() {
      if (settled) return;
      settle();
      socket.destroy();
      gone();
    }
    socket.on('end', leave);
    socket.on('error', leave);
    socket.on('close', leave);
    void this.of(socket, unixPath).then((program) => {
      if (settled) return;
      if (socket.destroyed || socket.readableEnded) return leave();
      settle();
      serve(program);
    });
  }

  /**
   * A place among the lookups running at once; resolves with its release, or null when the
   * budget ended first. Lookups that run together share their work where the OS allows
   * (one walk of /proc serves them all on Linux).
   */
  private slot(signal: AbortSignal): Promise<(() => void) | null> {
    const release = () => {
      this.running--;
      this.waiting.shift()?.();
    };
    if (this.running < MAX_RUNNING) {
      this.running++;
      return Promise.resolve(release);
    }
    return new Promise((resolve) => {
      const go = () => {
        signal.removeEventListener('abort', giveUp);
        this.running++;
        resolve(release);
      };
      const giveUp = () => {
        const i = this.waiting.indexOf(go);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(null);
      };
      this.waiting.push(go);
      signal.addEventListener('abort', giveUp, { once: true });
    });
  }

  private lookup(socket: Socket, unixPath: string | undefined): Promise<PeerProcess | undefined> {
    const conn = connectionOf(socket, unixPath);
    if (!this.finder || !conn) return Promise.resolve(undefined);
    const finder = this.finder;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), this.budgetMs);
    timer.unref();
    // A connection that ended needs no program any more (a request no person was asked
    // about did not wait for it): stop, so a burst of one-request connections — the shim
    // opens one per signature — does not keep walking /proc for nobody.
    const ended = () => ac.abort();
    socket.once('close', ended);
    const run = this.slot(ac.signal).then((free) => {
      if (!free) return undefined;
      return finder
        .find(conn, ac.signal)
        .catch(() => undefined)
        .finally(free);
    });
    const budget = new Promise<undefined>((resolve) =>
      ac.signal.addEventListener('abort', () => resolve(undefined), { once: true }),
    );
    return Promise.race([run, budget]).finally(() => {
      clearTimeout(timer);
      socket.off('close', ended);
      ac.abort();
    });
  }
}

/** Our file descriptor of a socket: Node keeps it on the handle (Unix only; -1 on Windows). */
function fdOf(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

function connectionOf(socket: Socket, unixPath: string | undefined): PeerConnection | undefined {
  if (unixPath !== undefined) return { transport: 'unix', path: unixPath, fd: fdOf(socket) };
  const { remoteAddress, remotePort, localAddress, localPort } = socket;
  if (!remoteAddress || !remotePort || !localAddress || !localPort) return undefined;
  if (!isLoopbackHost(remoteAddress.replace(/^::ffff:/i, ''))) return undefined;
  return { transport: 'tcp', remoteAddress, remotePort, localAddress, localPort };
}
