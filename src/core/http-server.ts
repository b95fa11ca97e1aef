// Routes and guards. Guards run in the design's order, before the body is read and
// before the agent is touched: browser → Host → method/path → token → size → deadline.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientInfo } from './client.js';
import { oneLine, ProxyError } from './errors.js';
import { busy, type ByteBudget } from './limits.js';
import type { Logger } from './logger.js';

export interface RequestContext {
  id: string;
  client: ClientInfo;
  /** Aborted when the requester hangs up before its answer is sent. */
  signal: AbortSignal;
  /** Filled in as the request is handled; logged at the end. */
  namespace?: string;
  fingerprint?: string;
  /** One-line summary of what is signed. */
  what?: string;
  decision?: { allowed: boolean; by: string };
}

export interface SignInput {
  namespace?: string;
  keySpec?: string;
  body: Buffer;
}

export interface KeyListing {
  type: string;
  fingerprint: string;
  comment: string;
  publicKey: string;
  usable: boolean;
}

/** What the routes do; proxy.ts implements it on top of the agent and the broker. */
export interface ProxyApi {
  sign(ctx: RequestContext, input: SignInput): Promise<string>;
  publicKey(ctx: RequestContext, keySpec?: string): Promise<string>;
  keys(ctx: RequestContext): Promise<KeyListing[]>;
  shim(): string;
}

export interface HttpHandlerOptions {
  api: ProxyApi;
  maxBody: number;
  bodyTimeoutMs: number;
  log: Logger;
  /** Current allowed Host header values (`name:port`). */
  allowedHosts: () => ReadonlySet<string>;
  /** Identify the caller from its Authorization header; throws 401 ProxyErrors. */
  authenticate: (authorization: string | undefined, address: string) => ClientInfo;
  /** Body bytes held across all requests. */
  budget: ByteBudget;
  /** Throws a 429 ProxyError when a client signs too often. */
  rateLimit: (client: string) => void;
  /** Called once per request when its answer is sent (or the requester hung up). */
  onFinished?: (
    ctx: RequestContext,
    route: string,
    status: number,
    code: string,
    ms: number,
  ) => void;
}

const ROUTES: Record<string, { method: 'GET' | 'POST'; query: readonly string[] }> = {
  '/sign': { method: 'POST', query: ['namespace', 'key'] },
  '/publickey': { method: 'GET', query: ['key'] },
  '/keys': { method: 'GET', query: [] },
  '/healthz': { method: 'GET', query: [] },
  '/shim': { method: 'GET', query: [] },
};

export const KEY_HEADER = 'x-ssh-agent-proxy-key';

function remoteAddress(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'Content-Length': String(Buffer.byteLength(body)),
    'Content-Type': type,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(body);
}

function sendError(res: ServerResponse, err: ProxyError, close: boolean): void {
  send(res, err.status, 'text/plain; charset=utf-8', `${oneLine(err.line)}\n`, {
    ...err.headers,
    ...(close ? { Connection: 'close' } : {}),
  });
}

/** Read the body within the size limit and deadline; rejects with 413/408 ProxyErrors. */
function readBody(
  req: IncomingMessage,
  maxBody: number,
  timeoutMs: number,
  /** Charge each chunk to the shared budget (when the length was not declared up front). */
  charge: ((n: number) => boolean) | null,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new ProxyError(
          408,
          'body-timeout',
          `the request body did not arrive within ${timeoutMs / 1000} s`,
        ),
      );
    }, timeoutMs);
    const onData = (c: Buffer) => {
      size += c.length;
      if (charge && !charge(c.length)) {
        cleanup();
        reject(busy());
        return;
      }
      if (size > maxBody) {
        cleanup();
        reject(new ProxyError(413, 'too-large', `the body exceeds the ${maxBody}-byte limit`));
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(
        new ProxyError(400, 'bad-body', `the request body could not be read (${err.message})`),
      );
    };
    const cleanup = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

function single(params: URLSearchParams, name: string): string | undefined {
  const all = params.getAll(name);
  if (all.length > 1) throw new ProxyError(400, 'bad-query', `"${name}" is given more than once`);
  return all[0];
}

export function createHttpHandler(opts: HttpHandlerOptions) {
  const { api, log } = opts;

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const address = remoteAddress(req);
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const ctx: RequestContext = {
      id: randomUUID(),
      client: { name: `local ${address}`, address },
      signal: abort.signal,
    };
    const url = new URL(req.url ?? '/', 'http://proxy.invalid');
    let status = 500;
    let code = 'ok';
    let charged = 0;
    try {
      // 1. Browsers are never clients: any page could otherwise POST here.
      if (req.headers.origin !== undefined || req.headers['sec-fetch-site'] !== undefined) {
        throw new ProxyError(403, 'browser-refused', 'requests from web browsers are refused');
      }
      // 2. Host allow-list (DNS rebinding).
      const host = req.headers.host;
      if (!host) throw new ProxyError(400, 'missing-host', 'the request has no Host header');
      if (!opts.allowedHosts().has(host.toLowerCase())) {
        throw new ProxyError(
          421,
          'bad-host',
          `Host "${oneLine(host, 80)}" is not accepted (see SSH_AGENT_PROXY_ALLOWED_HOSTS)`,
        );
      }
      // 3. Method and path.
      const route = ROUTES[url.pathname];
      if (!route) throw new ProxyError(404, 'not-found', `no route ${oneLine(url.pathname, 80)}`);
      if (req.method !== route.method) {
        throw new ProxyError(405, 'method-not-allowed', `${url.pathname} takes ${route.method}`, {
          Allow: route.method,
        });
      }
      for (const name of url.searchParams.keys()) {
        if (name === 'token' || name === 'access_token') {
          throw new ProxyError(
            400,
            'bad-query',
            'tokens are accepted only in the Authorization header',
          );
        }
        if (!route.query.includes(name))
          throw new ProxyError(400, 'bad-query', `unknown parameter "${oneLine(name, 40)}"`);
      }
      if (url.pathname === '/healthz') {
        status = 200;
        return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
      }
      // 4. Who is asking.
      ctx.client = opts.authenticate(req.headers.authorization, address);

      if (url.pathname === '/sign') {
        const queryKey = single(url.searchParams, 'key');
        const headerKey = req.headers[KEY_HEADER];
        if (Array.isArray(headerKey))
          throw new ProxyError(400, 'bad-key', `${KEY_HEADER} is given more than once`);
        if (
          queryKey !== undefined &&
          headerKey !== undefined &&
          queryKey.trim() !== headerKey.trim()
        ) {
          throw new ProxyError(
            400,
            'conflicting-key',
            `?key= and ${KEY_HEADER} name different keys`,
          );
        }
        // 5. Size from the header, before a byte of the body is read.
        const declared = Number(req.headers['content-length'] ?? NaN);
        if (declared > opts.maxBody) {
          throw new ProxyError(413, 'too-large', `the body exceeds the ${opts.maxBody}-byte limit`);
        }
        opts.rateLimit(ctx.client.name);
        // 6. The body, within the limit, the shared budget and the deadline. Held bytes are
        // given back when the answer is sent.
        let charge: ((n: number) => boolean) | null = null;
        if (Number.isFinite(declared)) {
          if (!opts.budget.take(declared)) throw busy();
          charged = declared;
        } else {
          charge = (n) => opts.budget.take(n) && ((charged += n), true);
        }
        const body = await readBody(req, opts.maxBody, opts.bodyTimeoutMs, charge);
        if (body.length === 0)
          throw new ProxyError(400, 'empty-body', 'nothing to sign: the body is empty');
        const signature = await api.sign(ctx, {
          namespace: single(url.searchParams, 'namespace'),
          keySpec: queryKey ?? headerKey,
          body,
        });
        status = 200;
        return send(res, 200, 'application/x-ssh-signature', signature);
      }
      if (url.pathname === '/publickey') {
        const line = await api.publicKey(ctx, single(url.searchParams, 'key'));
        status = 200;
        return send(res, 200, 'text/plain; charset=utf-8', `${line}\n`);
      }
      if (url.pathname === '/keys') {
        const keys = await api.keys(ctx);
        status = 200;
        return send(res, 200, 'application/json', `${JSON.stringify(keys, null, 2)}\n`);
      }
      status = 200;
      return send(res, 200, 'text/x-shellscript; charset=utf-8', api.shim());
    } catch (err) {
      const pe =
        err instanceof ProxyError
          ? err
          : new ProxyError(500, 'internal-error', 'the proxy hit an unexpected error; see its log');
      if (!(err instanceof ProxyError))
        log.error(`request ${ctx.id} failed: ${(err as Error).stack ?? String(err)}`);
      status = pe.status;
      code = pe.code;
      // A body we did not read must not be parsed as the next request: close instead.
      const hasBody =
        Number(req.headers['content-length'] ?? 0) > 0 ||
        req.headers['transfer-encoding'] !== undefined;
      sendError(res, pe, hasBody && !req.readableEnded);
    } finally {
      opts.budget.give(charged);
      const ms = (performance.now() - started).toFixed(1);
      const parts = [`${req.method} ${url.pathname}`, `client="${ctx.client.name}"`];
      if (ctx.fingerprint) parts.push(`key=${ctx.fingerprint}`);
      if (ctx.namespace) parts.push(`ns=${ctx.namespace}`);
      parts.push(
        `status=${abort.signal.aborted && status >= 400 ? `${status}(hung up)` : status}`,
        `ms=${ms}`,
      );
      (url.pathname === '/healthz' ? log.debug : log.info).call(log, parts.join(' '));
      opts.onFinished?.(
        ctx,
        url.pathname,
        status,
        abort.signal.aborted && status >= 400 ? 'hung-up' : code,
        Number(ms),
      );
    }
  };
}
