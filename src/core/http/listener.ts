// Binding the HTTP server. If the configured address is not available yet (an interface
// that comes up after login), serve on 127.0.0.1 meanwhile and retry every 10 s.
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { formatHostPort, type ListenAddress } from '../host-port.js';
import type { Logger } from '../logger.js';
import type { ConnectionGate } from './connection-gate.js';

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
  /** Who may hold connections (per source, silent deadline); the server's own cap is the total. */
  gate?: ConnectionGate;
  /** Requests asking to switch protocols (the agent endpoint's `GET /agent`). */
  upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

const DEFAULT_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000,
  maxConnections: 1024,
  idleTimeoutMs: 300_000,
};

/** Node's own answers to bytes its parser refuses, in our one-line `code: sentence` form. */
function parserRefusal(code: string | undefined): [number, string, string] {
  if (code === 'HPE_HEADER_OVERFLOW')
    return [
      431,
      'Request Header Fields Too Large',
      'headers-too-large: the request headers exceed 16 KiB',
    ];
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW')
    return [413, 'Content Too Large', 'too-large: the chunk extensions are too large'];
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return [408, 'Request Timeout', 'headers-timeout: the request headers did not arrive in time'];
  return [
    400,
    'Bad Request',
    `bad-request: the request is not well-formed HTTP/1.1 (${code ?? 'unknown'})`,
  ];
}

/**
 * A request Node's parser refuses never reaches the handler; Node would answer it with an
 * empty body. Answer the same status with a one-line body, under Node's own rule: only when
 * nothing of an in-flight answer was written yet, and close the connection either way.
 */
function answerClientError(err: NodeJS.ErrnoException, duplex: Duplex): void {
  const socket = duplex as Socket & { _httpMessage?: { headersSent?: boolean } | null };
  if (err.code === 'ECONNRESET' || !socket.writable || socket._httpMessage?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, reason, line] = parserRefusal(err.code);
  const body = `${line}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\n` +
      `X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

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
        // The handler's Host guard answers a missing Host (400 missing-host, one line);
        // Node's own check would answer an HTTP/1.1 request without one with an empty body.
        requireHostHeader: false,
      },
      handler,
    );
    // `Expect: 100-continue` reaches the handler too, which sends the 100 only once the
    // guards passed and the body is welcome (Node would otherwise send it at once).
    server.on('checkContinue', handler);
    // Any other expectation too: the handler refuses it (417) with a one-line body.
    server.on('checkExpectation', handler);
    server.on('clientError', answerClientError);
    if (limits.upgrade) server.on('upgrade', limits.upgrade);
    server.maxConnections = limits.maxConnections;
    const gate = limits.gate;
    if (gate)
      server.on('connection', (sock: Socket) =>
        gate.accept(sock, (sock.remoteAddress ?? 'unknown').replace(/^::ffff:/, '')),
      );
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
