// Routes and guards. Guards run in the design's order, before the body is read and
// before the agent is touched: browser → Host → target/method/path → token → size → rate
// → deadline. Every step, guards included, runs inside one error boundary: whatever a
// client sends gets a one-line answer (or its connection closed), never a crash.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Decision } from '../approval/approval-broker.js';
import type { Socket } from 'node:net';
import { anonymousClient, type ClientInfo } from '../approval/client.js';
import { asProxyError, oneLine, ProxyError, TokenRefused } from '../errors.js';
import { busy, type ByteBudget } from './limits.js';
import { logs, type Logger } from '../logger.js';
import { displayText } from '../display-text.js';
import type { PeerProcess } from '../peer/peer-process.js';
import { pendingProgram, type PendingProgram } from '../peer/pending-program.js';

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
  decision?: Decision;
  /** Authenticated and past the rate limit: a refusal of it may be recorded (an allowance). */
  admitted?: boolean;
  /** The connection's program lookup (same-host /sign): waited for only when a person is asked. */
  program?: PendingProgram;
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
  /** A request on `socket` authenticated with a token (it leaves its source's connection budget). */
  onAuthenticated?: (socket: Socket) => void;
  /** Body bytes held across all requests, and per client. */
  budget: ByteBudget;
  /**
   * Resolves when the client may sign now (it may wait its turn); rejects with 429.
   * `signal` makes the request's abort signal, only when it has to wait.
   */
  rateLimit: (clientId: string, signal: () => AbortSignal) => Promise<void>;
  /**
   * Awaited before a /sign answer is sent, so the request's record is written first.
   * Rejecting (503 audit-unavailable) replaces the answer: nothing leaves unrecorded.
   */
  recordSign?: (
    ctx: RequestContext,
    status: number,
    code: string,
    ms: number,
  ) => void | Promise<void>;
  /** The program at the other end of the connection (once per connection, bounded). */
  peerOf?: (socket: Socket) => Promise<PeerProcess | undefined>;
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
/** What the sandbox says runs the request (the shim sends its parent's command line). */
export const CLAIM_HEADER = 'x-ssh-agent-proxy-caller';

/** The expectation Node recognises (its own pattern); only HTTP/1.1 requests may carry it. */
const CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i;

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

/**
 * Guards 1 and 2, shared with the agent endpoint's upgrade route (agent-endpoint/upgrade.ts):
 * browsers are never clients (any page could otherwise POST here), and the Host must be
 * one of ours (DNS rebinding). Throws the ProxyError to answer.
 */
export function refuseBrowsersAndForeignHosts(
  req: IncomingMessage,
  allowedHosts: ReadonlySet<string>,
): void {
  if (req.headers.origin !== undefined || req.headers['sec-fetch-site'] !== undefined) {
    throw new ProxyError(403, 'browser-refused', 'requests from web browsers are refused');
  }
  const host = req.headers.host;
  if (!host) throw new ProxyError(400, 'missing-host', 'the request has no Host header');
  if (!allowedHosts.has(host.toLowerCase())) {
    throw new ProxyError(
      421,
      'bad-host',
      `Host "${oneLine(host, 80)}" is not accepted (see SSH_AGENT_PROXY_ALLOWED_HOSTS)`,
    );
  }
}

/** A target that is one lower-case path segment and nothing else: read as it is. */
const PLAIN_TARGET = /^\/[a-z]{1,16}$/;

/** The request target as a path on this server: origin-form only, one leading slash. */
export function parseTarget(target: string | undefined): Pick<URL, 'pathname' | 'searchParams'> {
  // What URL would make of it, without building one (most requests: /sign, /healthz).
  if (target && PLAIN_TARGET.test(target))
    return { pathname: target, searchParams: new URLSearchParams() };
  const bad = () =>
    new ProxyError(400, 'bad-request-target', 'the request target must be a path such as /sign');
  // Absolute-form (`POST http://evil/sign`), authority-form and `//host/...` name other
  // servers; no route of ours is reached that way.
  if (!target || !target.startsWith('/') || target.startsWith('//')) throw bad();
  try {
    return new URL(target, 'http://proxy.invalid');
  } catch {
    throw bad();
  }
}

export function createHttpHandler(opts: HttpHandlerOptions) {
  const { api, log } = opts;

  /** Never rejects: an exception anywhere is answered 500 and logged once. */
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const address = remoteAddress(req);
    // Made only when a step waits (a queue, a person): most requests never need one.
    let abort: AbortController | null = null;
    let hungUp = false;
    res.on('close', () => {
      if (res.writableFinished) return;
      hungUp = true;
      abort?.abort();
    });
    const signal = () => {
      if (!abort) {
        abort = new AbortController();
        if (hungUp) abort.abort();
      }
      return abort.signal;
    };
    const ctx: RequestContext = {
      id: randomUUID(),
      client: anonymousClient(address),
      get signal() {
        return signal();
      },
    };
    // For the log line, even when a guard refuses the request before its target is checked.
    let path = /^\/[^/?#]/.test(req.url ?? '')
      ? oneLine((req.url ?? '').split('?')[0]!, 80)
      : '(bad target)';
    let status = 500;
    let code = 'ok';
    let charged = 0;
    let recorded = false;
    // A promise only when there is a write to wait for: an answer with nothing to wait for
    // (a refusal that is only counted) leaves in the same turn, as before any await —
    // bytes pipelined behind a `Connection: close` request must meet an answered request.
    const recordSign = (st: number, cd: string): void | Promise<void> => {
      if (recorded || path !== '/sign' || !opts.recordSign) return;
      recorded = true;
      const ms = Math.round((performance.now() - started) * 10) / 10;
      return opts.recordSign(ctx, st, hungUp && st >= 400 ? 'hung-up' : cd, ms);
    };
    try {
      refuseBrowsersAndForeignHosts(req, opts.allowedHosts());
      // An expectation we cannot meet (RFC 9110 §10.1.1); HTTP/1.0 ones are ignored.
      const expect = req.httpVersion === '1.1' ? req.headers.expect : undefined;
      if (expect !== undefined && !CONTINUE.test(expect)) {
        throw new ProxyError(417, 'expectation-failed', 'only "Expect: 100-continue" is supported');
      }
      // 3. Target, method and path.
      const url = parseTarget(req.url);
      path = url.pathname;
      const route = ROUTES[path];
      if (!route) throw new ProxyError(404, 'not-found', `no route ${oneLine(path, 80)}`);
      if (req.method !== route.method) {
        throw new ProxyError(405, 'method-not-allowed', `${path} takes ${route.method}`, {
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
      // Open routes: liveness, and the shim (public code, no secret).
      if (path === '/healthz') {
        status = 200;
        return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
      }
      if (path === '/shim') {
        status = 200;
        return send(res, 200, 'text/x-shellscript; charset=utf-8', api.shim());
      }
      // 4. Who is asking.
      ctx.client = opts.authenticate(req.headers.authorization, address);
      if (ctx.client.token) opts.onAuthenticated?.(req.socket);

      if (path === '/sign') {
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
        const namespace = single(url.searchParams, 'namespace');
        // Found while the body arrives (started at accept where the listener allows); only a
        // request put to a person waits for it (sign-api.ts), others take what is known.
        const lookup = opts.peerOf?.(req.socket);
        if (lookup) ctx.program = pendingProgram(lookup);
        // 5. Size from the header, before a byte of the body is read.
        const declared = Number(req.headers['content-length'] ?? NaN);
        if (declared > opts.maxBody) {
          throw new ProxyError(413, 'too-large', `the body exceeds the ${opts.maxBody}-byte limit`);
        }
        // 6. This client's turn (a burst waits briefly rather than failing).
        await opts.rateLimit(ctx.client.id, signal);
        ctx.admitted = true;
        // 7. The body, within the limit, the budget and the deadline. Held bytes are given
        // back when the answer is sent. Only now is a client told to send it.
        const clientId = ctx.client.id;
        let charge: ((n: number) => boolean) | null = null;
        if (Number.isFinite(declared)) {
          const refused = opts.budget.take(clientId, declared);
          if (refused) throw busy(refused);
          charged = declared;
        } else {
          charge = (n) => opts.budget.take(clientId, n) === null && ((charged += n), true);
        }
        if (expect !== undefined) res.writeContinue();
        const body = await readBody(req, opts.maxBody, opts.bodyTimeoutMs, charge);
        if (body.length === 0)
          throw new ProxyError(400, 'empty-body', 'nothing to sign: the body is empty');
        const found = ctx.program?.found;
        if (found) ctx.client = { ...ctx.client, program: found };
        const claim = req.headers[CLAIM_HEADER];
        if (typeof claim === 'string' && claim.trim())
          ctx.client = { ...ctx.client, claim: displayText(claim, 200) };
        const signature = await api.sign(ctx, { namespace, keySpec: queryKey ?? headerKey, body });
        await recordSign(200, 'ok');
        status = 200;
        return send(res, 200, 'application/x-ssh-signature', signature);
      }
      if (path === '/publickey') {
        const line = await api.publicKey(ctx, single(url.searchParams, 'key'));
        status = 200;
        return send(res, 200, 'text/plain; charset=utf-8', `${line}\n`);
      }
      const keys = await api.keys(ctx);
      status = 200;
      return send(res, 200, 'application/json', `${JSON.stringify(keys, null, 2)}\n`);
    } catch (err) {
      let pe = asProxyError(err, (why) => log.error(`request ${ctx.id} failed: ${why}`));
      // A refused token is still recorded under the name it was issued with.
      if (err instanceof TokenRefused && err.tokenName && !ctx.client.tokenName)
        ctx.client = { ...ctx.client, name: err.tokenName };
      try {
        const writing = recordSign(pe.status, pe.code);
        if (writing) await writing;
      } catch (recordErr) {
        pe = asProxyError(recordErr, (why) => log.error(`request ${ctx.id}: ${why}`));
      }
      status = pe.status;
      code = pe.code;
      // A body we did not read must not be parsed as the next request: close instead.
      const hasBody =
        Number(req.headers['content-length'] ?? 0) > 0 ||
        req.headers['transfer-encoding'] !== undefined;
      try {
        sendError(res, pe, hasBody && !req.readableEnded);
      } catch {
        res.destroy();
      }
    } finally {
      opts.budget.give(ctx.client.id, charged);
      try {
        finish();
      } catch (err) {
        log.error(`request ${ctx.id}: recording it failed: ${oneLine(String(err))}`);
      }
    }

    function finish(): void {
      const ms = (performance.now() - started).toFixed(1);
      const byHangUp = hungUp && status >= 400;
      const level = path === '/healthz' ? 'debug' : 'info';
      if (logs(log, level)) {
        const parts = [
          `${oneLine(req.method ?? '?', 16)} ${oneLine(path, 80)}`,
          `client="${oneLine(ctx.client.name, 80)}"`,
        ];
        if (ctx.fingerprint) parts.push(`key=${ctx.fingerprint}`);
        if (ctx.namespace) parts.push(`ns=${ctx.namespace}`);
        parts.push(`status=${byHangUp ? `${status}(hung up)` : status}`);
        if (status >= 400) parts.push(`code=${byHangUp ? 'hung-up' : code}`);
        parts.push(`ms=${ms}`);
        log[level](parts.join(' '));
      }
      opts.onFinished?.(ctx, path, status, byHangUp ? 'hung-up' : code, Number(ms));
    }
  };
}
