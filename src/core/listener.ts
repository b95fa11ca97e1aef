// Binding the HTTP server. If the configured address is not available yet (an interface
// that comes up after login), serve on 127.0.0.1 meanwhile and retry every 10 s.
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { formatHostPort, type ListenAddress } from './settings-spec.js';
import type { Logger } from './logger.js';

export class ListenError extends Error {
  override name = 'ListenError';
}

export const RETRY_MS = 10_000;

export interface ServerLimits {
  headersTimeoutMs: number;
  maxConnections: number;
  /** A socket idle this long is closed (longer than any approval plus signing). */
  idleTimeoutMs: number;
  /** How often to retry the configured address while serving on the fallback. */
  retryMs?: number;
  /** Requests asking to switch protocols (the agent endpoint's `GET /agent`). */
  upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

const DEFAULT_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000,
  maxConnections: 1024,
  idleTimeoutMs: 300_000,
};

function listenOnce(
  handler: RequestListener,
  addr: ListenAddress,
  limits: ServerLimits,
): Promise<Server> {
  return new Promise((resolve, reject) => {
    // requestTimeout 0: a request may wait minutes for a person; the body has its own
    // deadline (http-server.ts) and the headers this one, checked every second.
    const server = createServer(
      {
        requestTimeout: 0,
        headersTimeout: limits.headersTimeoutMs,
        keepAliveTimeout: 5_000,
        connectionsCheckingInterval: 1_000,
      },
      handler,
    );
    // `Expect: 100-continue` reaches the handler too, which sends the 100 only once the
    // guards passed and the body is welcome (Node would otherwise send it at once).
    server.on('checkContinue', handler);
    if (limits.upgrade) server.on('upgrade', limits.upgrade);
    server.maxConnections = limits.maxConnections;
    server.setTimeout(limits.idleTimeoutMs, (sock) => sock.destroy());
    server.once('error', reject);
    server.listen({ host: addr.host, port: addr.port, exclusive: true }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function explain(addr: ListenAddress, err: NodeJS.ErrnoException): ListenError {
  const where = formatHostPort(addr.host, addr.port);
  if (err.code === 'EADDRINUSE') {
    return new ListenError(
      `${where} is already in use (another ssh-agent-proxy?); stop it or set SSH_AGENT_PROXY_ADDR`,
    );
  }
  if (err.code === 'EACCES')
    return new ListenError(`not permitted to listen on ${where}; choose a port above 1023`);
  return new ListenError(`cannot listen on ${where} (${err.code ?? err.message})`);
}

export interface Listening {
  /** Servers currently accepting; one, or two while switching from the fallback. */
  servers(): Server[];
  /** The address actually served now (the fallback until the configured one binds). */
  current(): ListenAddress;
  onChange(fn: () => void): void;
  close(): void;
}

export async function listen(
  handler: RequestListener,
  addr: ListenAddress,
  log: Logger,
  limits: ServerLimits = DEFAULT_LIMITS,
): Promise<Listening> {
  const bound = (s: Server, host: string): ListenAddress => {
    const a = s.address();
    return { host, port: typeof a === 'object' && a ? a.port : addr.port };
  };
  const listeners: (() => void)[] = [];
  try {
    const server = await listenOnce(handler, addr, limits);
    const cur = bound(server, addr.host);
    return {
      servers: () => [server],
      current: () => cur,
      onChange: () => {},
      close: () => server.close(),
    };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code !== 'EADDRNOTAVAIL' || addr.host === '127.0.0.1') throw explain(addr, e);
  }
  const fallbackAddr = { host: '127.0.0.1', port: addr.port };
  let active: Server;
  try {
    active = await listenOnce(handler, fallbackAddr, limits);
  } catch (err) {
    throw explain(fallbackAddr, err as NodeJS.ErrnoException);
  }
  let cur = bound(active, fallbackAddr.host);
  log.warn(
    `${addr.host}:${addr.port} is not available yet; serving on 127.0.0.1:${cur.port} and retrying every ${(limits.retryMs ?? RETRY_MS) / 1000} s`,
  );
  let closed = false;
  const timer = setInterval(() => {
    listenOnce(handler, { host: addr.host, port: cur.port }, limits).then(
      (server) => {
        if (closed) return void server.close();
        clearInterval(timer);
        const old = active;
        active = server;
        cur = bound(server, addr.host);
        old.close();
        log.info(`now listening on ${addr.host}:${cur.port}`);
        listeners.forEach((fn) => fn());
      },
      (err: NodeJS.ErrnoException) =>
        log.debug(`still cannot bind ${addr.host}: ${err.code ?? err.message}`),
    );
  }, limits.retryMs ?? RETRY_MS);
  timer.unref();
  return {
    servers: () => [active],
    current: () => cur,
    onChange: (fn) => listeners.push(fn),
    close: () => {
      closed = true;
      clearInterval(timer);
      active.close();
    },
  };
}
