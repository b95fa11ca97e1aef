// Composition: config + agent + broker + tokens + audit + HTTP → a running proxy. Shells
// (the CLI, the Electron main) call startProxy and adapt its events; every decision is
// made here or below.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server, Socket } from 'node:net';
import { AgentSigner } from './agent/agent-signer.js';
import { ApprovalBroker, type Clock } from './approval/approval-broker.js';
import { cleanAuditRecord, nullAudit, type AuditRecord, type AuditSink } from './approval/audit.js';
import { presentedToken } from './http/authorization.js';
import { anonymousClient, tokenClient, type ClientInfo } from './approval/client.js';
import { ConfigError, type Config } from './config/config.js';
import { formatHostPort, isLoopbackHost } from './host-port.js';
import { ProxyError, TokenRefused } from './errors.js';
import { allowedHostHeaders } from './http/host-guard.js';
import { createHttpHandler, type RequestContext } from './http/http-server.js';
import { ByteBudget, RateLimiter } from './http/limits.js';
import { listen } from './http/listener.js';
import { ConnectionGate, connectionShares } from './http/connection-gate.js';
import { connectionsWithin, openFilesLimit } from './http/open-files.js';
import { applySettings, type ApplyResult } from './config/live-settings.js';
import type { SettingsValues } from './config/settings-file.js';
import { cleanLogger, type Logger } from './logger.js';
import { tokenLimits, TokenStore } from './approval/token-store.js';
import { nameHostFromFiles } from './agent-endpoint/known-hosts-files.js';
import { listenLocalSocket, LocalSocketError } from './agent-endpoint/local-socket.js';
import {
  serveAgentConnection,
  type EndpointConnection,
  type EndpointDeps,
  type EndpointRecord,
} from './agent-endpoint/server.js';
import { createUpgradeHandler } from './agent-endpoint/upgrade.js';
import { VerificationBudget } from './agent-endpoint/verification-budget.js';
import { createSignApi } from './sign-api.js';

export const AGENT_CONNECT_TIMEOUT_MS = 5_000;
/** A connection that has sent nothing this long is closed (a client sends at once). */
export const SILENT_CONNECTION_MS = 3_000;
/** Agent-endpoint connections one client may hold open at once (ssh uses one per login). */
export const AGENT_CONNECTIONS_PER_CLIENT = 32;
/** Requests of one client that may wait for their turn under the rate limit. */
const RATE_QUEUE = 8;
const RATE_MAX_WAIT_MS = 30_000;
const RECENT = 200;

export interface ProxyOptions {
  config: Config;
  log: Logger;
  /** The container-side shim served at GET /shim. */
  shimText: string;
  audit?: AuditSink;
  /** Earlier audit records (oldest first), so recent activity survives a restart. */
  history?: readonly AuditRecord[];
  clock?: Clock;
}

export interface RunningProxy {
  /** Base URL actually served, e.g. http://127.0.0.1:7221 */
  url(): string;
  port(): number;
  config: Config;
  signer: AgentSigner;
  broker: ApprovalBroker;
  tokens: TokenStore;
  /** Recent /sign records, oldest first (the tray's activity view). */
  recent(): AuditRecord[];
  onActivity(fn: (r: AuditRecord) => void): () => void;
  /** Revoke a token now: its grants and pending prompts go too. */
  revokeToken(name: string): boolean;
  /** Persist settings and apply those that can change while running. */
  applySettings(values: SettingsValues): ApplyResult;
  /** Stop accepting, deny pending approvals, let in-flight requests finish (bounded), then drop the rest. */
  close(graceMs?: number): Promise<void>;
}

export { keyInfo } from './sign-api.js';

export async function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  const { config } = opts;
  const log = cleanLogger(opts.log); // every core log line is one display-safe line
  const audit = opts.audit ?? nullAudit;
  const beyondLoopback = !isLoopbackHost(config.addr.host);
  const tokens = new TokenStore(config.configDir, { alwaysRequired: beyondLoopback });
  if (beyondLoopback && tokens.usable().length === 0) {
    throw new ConfigError(
      config.origin.addr === 'default' ? 'SSH_AGENT_PROXY_ADDR' : config.origin.addr,
      `listening on ${config.addr.host} (beyond loopback) needs at least one client token; create one with: ssh-agent-proxy token create NAME`,
    );
  }
  const signer = new AgentSigner({
    upstream: () => config.agent?.path ?? null,
    timeouts: {
      connectMs: Math.min(AGENT_CONNECT_TIMEOUT_MS, config.listTimeout),
      listMs: config.listTimeout,
      signMs: config.signTimeout,
    },
    log,
  });
  const broker = new ApprovalBroker({
    policy: config.approval,
    timeoutMs: config.approvalTimeout,
    grantMs: config.grantMinutes * 60_000,
    grantMaxUses: config.grantMaxSignatures,
    maxPending: config.maxPending,
    maxPendingPerClient: config.maxPendingPerClient,
    clock: opts.clock,
  });

  // Revocations and expiries apply at once: checked on every request, before each later
  // step of a request with a token, and by a short poll of the file (for pending prompts).
  let tokenProblem: string | null = null;
  // Open agent-endpoint connections: a token that dies takes its connections with it.
  const agentConnections = new Set<EndpointConnection>();
  const refreshTokens = () => {
    for (const t of tokens.refresh()) {
      log.info(
        `token "${t.name}" is ${t.state}; dropping its grants, pending prompts and agent connections`,
      );
      broker.revokeToken(t.id, t.state === 'expired' ? 'token-expired' : 'token-revoked');
      for (const c of [...agentConnections])
        if (c.client.token?.id === t.id) c.closeForToken(t.state);
    }
    if (tokens.problem !== tokenProblem) {
      tokenProblem = tokens.problem;
      if (tokenProblem) log.error(`client tokens: ${tokenProblem}`);
      else log.info('client tokens: the token file is readable again');
    }
  };
  const tokenPoll = setInterval(() => {
    try {
      refreshTokens();
    } catch (err) {
      log.error(`cannot re-read client tokens: ${(err as Error).message}`);
    }
  }, 500);
  tokenPoll.unref();

  const authenticate = (authorization: string | undefined, address: string): ClientInfo => {
    // Checked against the file as it is now (a stat; re-read only when it changed): a
    // revocation applies to the very next request, and a token created a moment ago
    // makes the next anonymous request need one.
    refreshTokens();
    if (authorization === undefined) {
      if (tokens.required) {
        throw new TokenRefused(
          'token-required',
          'this proxy requires a client token (Authorization: Bearer …; the shim reads SSH_AGENT_PROXY_TOKEN)',
        );
      }
      return anonymousClient(address);
    }
    const rec = tokens.verify(presentedToken(authorization));
    return tokenClient(tokenLimits(rec), address);
  };

  const { api, keyPolicy, stillAuthorized } = createSignApi({
    config,
    broker,
    signer,
    tokens,
    shimText: opts.shimText,
    refreshTokens,
  });

  const recent: AuditRecord[] = (opts.history ?? []).slice(-RECENT);
  const activity = new Set<(r: AuditRecord) => void>();
  const onFinished = (
    ctx: RequestContext,
    route: string,
    status: number,
    code: string,
    ms: number,
  ) => {
    if (route !== '/sign') return;
    const d = ctx.decision;
    recordActivity({
      time: new Date().toISOString(),
      id: ctx.id,
      client: ctx.client.name,
      remote: ctx.client.address,
      key: ctx.fingerprint ?? null,
      namespace: ctx.namespace ?? null,
      what: ctx.what ?? null,
      decision: d ? (d.allowed ? 'allowed' : 'denied') : 'none',
      decidedBy: d?.by ?? null,
      status,
      outcome: code,
      ms: Math.round(ms),
    });
  };
  /** One record per signature asked for, over /sign or the agent endpoint. */
  const recordActivity = (raw: AuditRecord) => {
    // Display-safe once, for the file, recent activity and every listener alike.
    const rec = cleanAuditRecord(raw);
    try {
      audit.write(rec);
    } catch (err) {
      log.error(`cannot write the audit record: ${(err as Error).message}`);
    }
    recent.push(rec);
    if (recent.length > RECENT) recent.shift();
    for (const fn of activity) fn(rec);
  };

  const rateLimiter = new RateLimiter(
    {
      perMinute: config.rateLimit,
      burst: config.rateBurst,
      queue: RATE_QUEUE,
      maxWaitMs: RATE_MAX_WAIT_MS,
    },
    opts.clock,
  );
  // The agent endpoint (GET /agent upgraded, and the optional host-local socket): the
  // same tokens, key limits, broker, grants, rate limits and audit as /sign.
  const endpointDeps: EndpointDeps = {
    log,
    broker,
    upstream: () => {
      const p = config.agent?.path;
      if (!p)
        throw new ProxyError(
          503,
          'agent-unreachable',
          'no SSH agent found: SSH_AUTH_SOCK is unset and no well-known agent socket exists; set SSH_AGENT_PROXY_UPSTREAM',
        );
      return p;
    },
    timeouts: {
      connectMs: Math.min(AGENT_CONNECT_TIMEOUT_MS, config.listTimeout),
      listMs: config.listTimeout,
      signMs: config.signTimeout,
    },
    keyPolicy: (client) => keyPolicy(client.token),
    stillAuthorized,
    nameHost: (hostKey) => nameHostFromFiles(config.knownHosts, hostKey),
    allowForwarded: () => config.agentAllowForwarded,
    gitOnly: (client) => config.gitOnly || client.token?.gitOnly === true,
    rateLimit: (clientId, signal) => rateLimiter.admit(clientId, signal),
    verificationBudget: new VerificationBudget(undefined, opts.clock),
    record: (r: EndpointRecord) =>
      recordActivity({
        time: new Date().toISOString(),
        id: r.id,
        client: r.client.name,
        remote: r.client.address,
        key: r.key,
        namespace: r.scope,
        what: r.what,
        decision: r.decision ? (r.decision.allowed ? 'allowed' : 'denied') : 'none',
        decidedBy: r.decision?.by ?? null,
        status: r.status,
        outcome: r.outcome,
        ms: r.ms,
      }),
    frameTimeoutMs: config.bodyTimeout,
    idleTimeoutMs: config.approvalTimeout + config.signTimeout + 60_000,
  };
  // Each agent connection may hold an upstream connection: one client cannot take them all.
  const agentConnectionsOf = new Map<string, number>();
  const admitAgent = (client: ClientInfo): ProxyError | null =>
    (agentConnectionsOf.get(client.id) ?? 0) >= AGENT_CONNECTIONS_PER_CLIENT
      ? new ProxyError(
          429,
          'too-many-connections',
          `this client already has ${AGENT_CONNECTIONS_PER_CLIENT} agent connections open`,
          { 'Retry-After': '5' },
        )
      : null;
  const serveAgent = (sock: Socket, head: Buffer, client: ClientInfo) => {
    const conn = serveAgentConnection(sock, head, client, endpointDeps);
    agentConnections.add(conn);
    agentConnectionsOf.set(client.id, (agentConnectionsOf.get(client.id) ?? 0) + 1);
    conn.onClose(() => {
      agentConnections.delete(conn);
      const left = (agentConnectionsOf.get(client.id) ?? 1) - 1;
      if (left > 0) agentConnectionsOf.set(client.id, left);
      else agentConnectionsOf.delete(client.id);
    });
  };

  // Connections sized under the open-files limit; each source its share, tokens a reserve.
  const fileLimit = openFilesLimit();
  const totalConnections = connectionsWithin(config.maxConnections, fileLimit);
  if (totalConnections < config.maxConnections)
    log.warn(
      `the open-files limit is ${fileLimit?.soft}: at most ${totalConnections} connections (SSH_AGENT_PROXY_MAX_CONNECTIONS is ${config.maxConnections}); raise it with LimitNOFILE= or ulimit -n`,
    );
  const gate = new ConnectionGate({
    total: totalConnections,
    ...connectionShares(totalConnections),
    silentMs: Math.min(SILENT_CONNECTION_MS, config.headersTimeout),
    log,
    what: 'HTTP',
  });
  const onAuthenticated = (socket: Socket) => gate.authenticated(socket);

  let hosts = new Set<string>();
  const inFlight = new Set<ServerResponse>();
  const handle = createHttpHandler({
    api,
    maxBody: config.maxBody,
    bodyTimeoutMs: config.bodyTimeout,
    log,
    allowedHosts: () => hosts,
    authenticate,
    onFinished,
    budget: new ByteBudget(
      config.maxBodyInFlight,
      Math.max(config.maxBody, Math.floor(config.maxBodyInFlight / 4)),
    ),
    rateLimit: (client, signal) => rateLimiter.admit(client, signal),
    onAuthenticated,
  });
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    inFlight.add(res);
    res.on('close', () => inFlight.delete(res));
    handle(req, res).catch((err: unknown) => {
      // handle() answers every error itself; this is the last line of defence.
      log.error(`request handling failed: ${String(err)}`);
      res.destroy();
    });
  };
  const listening = await listen(handler, config.addr, log, {
    headersTimeoutMs: config.headersTimeout,
    maxConnections: totalConnections,
    gate,
    idleTimeoutMs: config.approvalTimeout + config.signTimeout + 60_000,
    upgrade: createUpgradeHandler({
      log,
      allowedHosts: () => hosts,
      authenticate,
      onAuthenticated,
      admit: admitAgent,
      serve: serveAgent,
    }),
  });
  let localSocket: Server | null = null;
  if (config.agentSocket) {
    try {
      // Reachable only by the person's own processes (0600 in a 0700 directory), all one
      // client: its connection cap, and silent connections dropped as on the HTTP port.
      const localClient = {
        id: 'local-socket',
        name: 'local socket',
        address: config.agentSocket,
      };
      const localGate = new ConnectionGate({
        total: AGENT_CONNECTIONS_PER_CLIENT,
        perSource: AGENT_CONNECTIONS_PER_CLIENT,
        reserve: 0,
        silentMs: SILENT_CONNECTION_MS,
        log,
        what: 'agent socket',
      });
      localSocket = await listenLocalSocket(config.agentSocket, (sock) => {
        if (!localGate.accept(sock, 'the local socket')) return;
        if (admitAgent(localClient)) return void sock.destroy();
        serveAgent(sock, Buffer.alloc(0), localClient);
      });
      log.info(`agent socket at ${config.agentSocket} (point SSH_AUTH_SOCK there)`);
    } catch (err) {
      listening.close();
      if (err instanceof LocalSocketError)
        throw new ConfigError(
          config.origin.agentSocket === 'default'
            ? 'SSH_AGENT_PROXY_AGENT_SOCKET'
            : config.origin.agentSocket,
          err.message,
        );
      throw err;
    }
  }
  const refreshHosts = () => {
    const cur = listening.current();
    hosts = allowedHostHeaders(cur.host, cur.port, config.allowedHosts);
    // While on the fallback, the configured name is what clients were told to use.
    for (const h of allowedHostHeaders(config.addr.host, cur.port, [])) hosts.add(h);
  };
  refreshHosts();
  listening.onChange(refreshHosts);

  return {
    url() {
      const cur = listening.current();
      const host = cur.host === '0.0.0.0' ? '127.0.0.1' : cur.host === '::' ? '::1' : cur.host;
      return `http://${formatHostPort(host, cur.port)}`;
    },
    port: () => listening.current().port,
    config,
    signer,
    broker,
    tokens,
    recent: () => [...recent],
    onActivity(fn) {
      activity.add(fn);
      return () => activity.delete(fn);
    },
    applySettings: (values) => applySettings(config, broker, refreshHosts, values),
    revokeToken(name) {
      const ok = tokens.revoke(name);
      if (ok) refreshTokens();
      return ok;
    },
    async close(graceMs = 5_000) {
      clearInterval(tokenPoll);
      const servers = listening.servers();
      listening.close();
      localSocket?.close();
      broker.shutdown();
      for (const c of [...agentConnections]) c.close('the proxy is shutting down');
      for (const s of servers) s.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (inFlight.size > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 25));
      for (const s of servers) s.closeAllConnections();
      signer.close();
      // Records of requests that ended are queued; none is lost on a clean shutdown.
      await audit
        .flush?.()
        .catch((err: unknown) => log.error(`cannot write the last audit records: ${String(err)}`));
    },
  };
}
