// The control channel's endpoint: a Unix socket in the config dir, or a named pipe on
// Windows — never the HTTP port the sandboxes reach. Who may connect:
// - Unix: the socket is 0600 inside the config dir, which must be 0700 and the person's
//   own (listenLocalSocket checks both, replaces a socket left by a dead proxy, and
//   refuses anything else at that path). Node exposes no peer credentials (SO_PEERCRED,
//   getpeereid), so these modes are the check; root can always connect.
// - Windows: a pipe named from the config dir. libuv creates it with the default security
//   descriptor: full control to the creating user, SYSTEM and Administrators, read-only
//   access for Everyone. A process of another user that creates the name first makes
//   start-up say the channel is off.
// - Everywhere: before anything is carried out, the client and the proxy each prove they
//   know the secret in `<config dir>/control.key`, readable by the person only
//   (control-session.ts). So a process that holds the path or pipe name without the secret
//   — another user's, a foreign or stale one — is detected by the client, and a client
//   without it is refused.
// Line framing is bounded: a line over MAX_LINE_BYTES is refused and the connection ends;
// a few connections at a time, each closed when no request came for a while (blank lines do
// not count). A client that sends requests and does not read the answers is not read from
// while more than MAX_UNSENT_BYTES of them wait (backpressure): its requests cannot grow the
// proxy's memory, and it loses its place when idle.
import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { ApprovalBroker } from '../approval/approval-broker.js';
import type { Logger } from '../logger.js';
import { listenLocalSocket } from '../agent-endpoint/local-socket.js';
import { MAX_LINE_BYTES, type ControlAnswer, type ProxyIdentity } from './control-protocol.js';
import { ControlSession, type HelloAnswer } from './control-session.js';

export const MAX_CONTROL_CONNECTIONS = 8;
const IDLE_MS = 60_000;
/** Past this much unsent to one client, the channel reads and answers nothing more from it. */
export const MAX_UNSENT_BYTES = 64 * 1024;
/** A backstop: one answer that alone would leave more than this unsent ends the connection. */
const MAX_UNREAD_ANSWER_BYTES = 1 << 20;

/**
 * The longest Unix socket path, in bytes (sockaddr_un.sun_path less its NUL). Node 20 does not
 * refuse a longer one: it binds or connects to the path cut short, which may name another
 * directory. So a longer path is refused here, by the proxy and the client alike.
 */
export const MAX_SOCKET_PATH_BYTES = process.platform === 'linux' ? 107 : 103;

export class ControlPathError extends Error {
  override name = 'ControlPathError';
}

/** Throws ControlPathError when `path` cannot be a Unix socket path as it is. */
export function checkSocketPathLength(path: string): void {
  if (path.startsWith('\\\\.\\pipe\\')) return;
  const n = Buffer.byteLength(path);
  if (n > MAX_SOCKET_PATH_BYTES)
    throw new ControlPathError(
      `the control socket path ${path} is ${n} bytes, over the ${MAX_SOCKET_PATH_BYTES} a socket path may have; use a shorter config dir (SSH_AGENT_PROXY_CONFIG_DIR)`,
    );
}

/** Where the control channel of the proxy using `configDir` listens. */
export function controlSocketPath(
  configDir: string,
  platform: NodeJS.Platform = process.platform,
): string {
  if (platform !== 'win32') return join(configDir, 'control.sock');
  const id = createHash('sha256').update(configDir.toLowerCase()).digest('hex').slice(0, 16);
  return `\\\\.\\pipe\\ssh-agent-proxy-control-${id}`;
}

function serveControl(sock: Socket, session: ControlSession, log: Logger, idleMs: number): void {
  let buffered = '';
  sock.setEncoding('utf8');
  sock.on('error', () => {});
  // Idle means no request: blank lines or a trickle of bytes do not keep a place.
  let idle = setTimeout(() => sock.destroy(), idleMs);
  const stillBusy = () => {
    clearTimeout(idle);
    idle = setTimeout(() => sock.destroy(), idleMs);
  };
  sock.on('close', () => clearTimeout(idle));
  // Half-closed after its last request (allowHalfOpen): its answers are written; end too.
  let ended = false;
  /** Lines are left to answer once the client reads what waits. */
  let waiting = false;
  sock.on('end', () => {
    ended = true;
    if (!waiting) sock.end();
  });
  const send = (a: ControlAnswer | HelloAnswer) => {
    sock.write(`${JSON.stringify(a)}\n`);
    // A client that sends and never reads would grow our answers in memory.
    if (sock.writableLength > MAX_UNREAD_ANSWER_BYTES) sock.destroy();
  };
  const refuseLongLine = () => {
    send({
      ok: false,
      error: `line-too-long: a request is one line of at most ${MAX_LINE_BYTES} bytes`,
    });
    // Read nothing more; close once the answer is written.
    sock.removeAllListeners('data');
    sock.pause();
    sock.end(() => sock.destroy());
  };
  /** Answer the complete lines read, until the client has too much unread: then wait. */
  const pump = () => {
    for (;;) {
      if (sock.destroyed) return;
      if (sock.writableLength > MAX_UNSENT_BYTES) {
        // Backpressure: read nothing more and answer nothing more until it has read.
        sock.pause();
        waiting = true;
        sock.once('drain', () => {
          waiting = false;
          pump();
          if (!waiting && !sock.destroyed && !ended) sock.resume();
        });
        return;
      }
      const nl = buffered.indexOf('\n');
      if (nl < 0) break;
      const line = buffered.slice(0, nl).replace(/\r$/, '');
      buffered = buffered.slice(nl + 1);
      if (Buffer.byteLength(line) > MAX_LINE_BYTES) return refuseLongLine();
      if (line.trim() === '') continue;
      stillBusy();
      try {
        const reply = session.handle(line);
        send(reply.answer);
        if (reply.close) {
          sock.removeAllListeners('data');
          sock.pause();
          return void sock.end(() => sock.destroy());
        }
      } catch (err) {
        log.error(`control request failed: ${(err as Error).message}`);
        send({ ok: false, error: 'internal-error: the request could not be carried out' });
      }
    }
    if (Buffer.byteLength(buffered) > MAX_LINE_BYTES) return refuseLongLine();
    if (ended) sock.end();
  };
  sock.on('data', (chunk: string) => {
    buffered += chunk;
    pump();
  });
}

export interface ControlChannel {
  path: string;
  close(): void;
}

/** Listen; throws LocalSocketError (Unix) or an Error naming the pipe when it cannot. */
export async function listenControl(
  path: string,
  broker: ApprovalBroker,
  log: Logger,
  opts: {
    /** Known to the person's own clients only (control-key.ts). */
    secret: Buffer;
    /** Named in every answer: which proxy acted. */
    proxy: ProxyIdentity;
    idleMs?: number;
  },
): Promise<ControlChannel> {
  const open = new Set<Socket>();
  const serve = (sock: Socket) => {
    if (open.size >= MAX_CONTROL_CONNECTIONS) return void sock.destroy();
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    serveControl(
      sock,
      new ControlSession(opts.secret, broker, log, opts.proxy),
      log,
      opts.idleMs ?? IDLE_MS,
    );
  };
  checkSocketPathLength(path);
  let server: Server;
  if (path.startsWith('\\\\.\\pipe\\')) {
    server = createServer(serve);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(`cannot listen on ${path} (${err.code ?? err.message})`)),
      );
      server.listen({ path }, () => resolve());
    });
  } else {
    server = await listenLocalSocket(path, serve);
  }
  return {
    path,
    close() {
      server.close();
      for (const s of open) s.destroy();
    },
  };
}
