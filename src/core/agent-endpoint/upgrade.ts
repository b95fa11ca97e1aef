// The sandbox transport: `GET /agent` with `Upgrade: ssh-agent` on the proxy's HTTP port
// turns an authenticated connection into a raw agent-protocol stream (101 Switching
// Protocols). The same guards as every route, in the same order — browser, Host, target,
// method, token (Bearer or Basic) — run before the 101; nothing reaches the upstream agent
// before they pass, and a refusal is the usual one-line answer on a closed connection.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ClientInfo } from '../approval/client.js';
import { asProxyError, oneLine, ProxyError } from '../errors.js';
import { parseTarget, refuseBrowsersAndForeignHosts } from '../http/http-server.js';
import type { Logger } from '../logger.js';

export const AGENT_PATH = '/agent';
export const AGENT_PROTOCOL = 'ssh-agent';

export interface UpgradeOptions {
  log: Logger;
  allowedHosts: () => ReadonlySet<string>;
  /** Identify the caller from its Authorization header; throws 401 ProxyErrors. */
  authenticate: (authorization: string | undefined, address: string) => ClientInfo;
  /** The connection authenticated with a token (it leaves its source's connection budget). */
  onAuthenticated?: (socket: Socket) => void;
  /** A refusal for a client that may not open another connection now, else null. */
  admit?: (client: ClientInfo) => ProxyError | null;
  /** Serve the agent protocol on the switched connection. */
  serve: (socket: Socket, head: Buffer, client: ClientInfo) => void;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  421: 'Misdirected Request',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
};

function refuse(socket: Duplex, err: ProxyError): void {
  const body = `${oneLine(err.line)}\n`;
  const headers = {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    Connection: 'close',
    ...err.headers,
  };
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  // Closed once written: what follows the request is not read as another one.
  socket.end(`HTTP/1.1 ${err.status} ${REASONS[err.status] ?? 'Error'}\r\n${head}\r\n${body}`, () =>
    socket.destroy(),
  );
}

/** The 'upgrade' listener of the HTTP server. Never throws. */
export function createUpgradeHandler(opts: UpgradeOptions) {
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const address = (req.socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
    socket.on('error', () => socket.destroy());
    let clientName = `local ${address}`;
    try {
      refuseBrowsersAndForeignHosts(req, opts.allowedHosts());
      const url = parseTarget(req.url);
      if (url.pathname !== AGENT_PATH)
        throw new ProxyError(
          400,
          'bad-upgrade',
          `only ${AGENT_PATH} switches protocols (Upgrade: ${AGENT_PROTOCOL})`,
        );
      if (req.method !== 'GET')
        throw new ProxyError(405, 'method-not-allowed', `${AGENT_PATH} takes GET`, {
          Allow: 'GET',
        });
      if ([...url.searchParams.keys()].length > 0)
        throw new ProxyError(400, 'bad-query', `${AGENT_PATH} takes no parameters`);
      const protocols = (req.headers.upgrade ?? '').split(',').map((p) => p.trim().toLowerCase());
      if (!protocols.includes(AGENT_PROTOCOL))
        throw new ProxyError(
          426,
          'bad-upgrade',
          `${AGENT_PATH} speaks Upgrade: ${AGENT_PROTOCOL}`,
          {
            Upgrade: AGENT_PROTOCOL,
          },
        );
      const client = opts.authenticate(req.headers.authorization, address);
      clientName = client.name;
      if (client.token) opts.onAuthenticated?.(socket as Socket);
      const refused = opts.admit?.(client);
      if (refused) throw refused;
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${AGENT_PROTOCOL}\r\nConnection: Upgrade\r\n\r\n`,
      );
      opts.log.info(`GET ${AGENT_PATH} client="${oneLine(client.name, 80)}" status=101`);
      opts.serve(socket as Socket, head, client);
    } catch (err) {
      const pe = asProxyError(err, (why) => opts.log.error(`upgrade failed: ${why}`));
      opts.log.info(
        `${oneLine(req.method ?? '?', 16)} ${AGENT_PATH} (upgrade) client="${oneLine(clientName, 80)}" status=${pe.status} code=${pe.code}`,
      );
      refuse(socket, pe);
    }
  };
}
