// Composition: config + agent + broker + tokens + audit + HTTP → a running proxy. Shells
// (the CLI, the Electron main) call startProxy and adapt its events; every decision is
// made here or below.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server, Socket } from 'node:net';
import { AgentSigner } from './agent/agent-signer.js';
import { ApprovalBroker, type Clock } from './approval/approval-broker.js';
import { nullAudit, type AuditRecord, type AuditSink } from './approval/audit.js';
import { AuditTrail, auditUnavailable, type AuditStatus } from './approval/audit-trail.js';
import { isUndecidedRefusal, RefusalSummary } from './approval/refusal-summary.js';
import { decisionFields, grantGivenRecord, tokenEventRecord } from './approval/audit-events.js';
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
import {
  tokenId,
  tokenLimits,
  TokenStore,
  type CreateTokenOptions,
} from './approval/token-store.js';
import { refuseUnattendedAllowForAnyone } from './approval/unattended-allow.js';
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
import { choosePeerFinder } from './peer/choose-peer-finder.js';
import { ConnectionPeers } from './peer/connection-peers.js';
import { peerRecord, type PeerFinder } from './peer/peer-process.js';

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
  /** Where summaries of refusals no one decided go (kept apart from the decisions). */
  refusals?: AuditSink;
  /** How often those summaries are written (default one minute). */
  refusalIntervalMs?: number;
  /** Earlier audit records (oldest first), so recent activity survives a restart. */
  history?: readonly AuditRecord[];
  clock?: Clock;
  /** Who finds the program at the other end (default: this OS's; null: none). */
  peerFinder?: PeerFinder | null;
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
  /** Whether the audit log can be written (while not, nothing is signed). */
  auditStatus(): AuditStatus;
  onAuditStatus(fn: (s: AuditStatus) => void): () => void;
  /** Create a client token (recorded in the audit); returns the secret, shown once. */
  createToken(name: string, opts: CreateTokenOptions): string;
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
  const trail = new AuditTrail(audit, log, (rec) => showActivity(rec));
  const beyondLoopback = !isLoopbackHost(config.addr.host);
  const tokens = new TokenStore(config.configDir, { alwaysRequired: beyondLoopback });
  if (beyondLoopback && tokens.usable().length === 0) {
    throw new ConfigError(
      config.origin.addr === 'default' ? 'SSH_AGENT_PROXY_ADDR' : config.origin.addr,
      `listening on ${config.addr.host} (beyond loopback) needs at least one client token; create one with: ssh-agent-proxy token create NAME`,
    );
  }
  refuseUnattendedAllowForAnyone(
    {
      policy: config.approval,
      allowAnyLocalProcess: config.allowAnyLocalProcess,
      usableTokens: tokens.usable().length,
    },
    config.origin.approval === 'default' ? 'SSH_AGENT_PROXY_APPROVAL' : config.origin.approval,
  );
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
    allowAnyLocalProcess: config.allowAnyLocalProcess,
    clock: opts.clock,
    onGrantGiven: (g) => recordEvent(grantGivenRecord(g)),
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
      // An expiry is the proxy's to record (a revocation, the revoker's: the CLI or the tray).
      const rec = t.state === 'expired' ? tokens.list().find((r) => tokenId(r) === t.id) : null;
      if (rec) recordEvent(tokenEventRecord('token-expired', rec, ''));
      broker.revokeToken(t.id, t.state === 'expired' ? 'token-expired' : 'token-revoked');
      for (const c of [...agentConnections])
        if (c.client.token?.id === t.id) c.close(`its token is ${t.state}`, `token-${t.state}`);
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
    auditReady: () => trail.ready(),
  });

  // Which program asks, on same-host connections: once per connection, within a budget.
  // Off by setting (null finder); a test may inject its own.
  const peers = new ConnectionPeers(
    !config.programLookup
      ? null
      : opts.peerFinder === undefined
        ? choosePeerFinder()
        : opts.peerFinder,
  );
  const withProgram = (client: ClientInfo, program: ClientInfo['program']): ClientInfo =>
    program ? { ...client, program } : client;

  // The program as known when the record is written: a request no person was asked about
  // did not wait for the lookup, and says so when it had not ended.
  const programFields = (ctx: RequestContext): Pick<AuditRecord, 'program' | 'programPending'> => {
    const program = ctx.client.program ?? ctx.program?.found;
    if (program) return { program: peerRecord(program) };
    return ctx.program && !ctx.program.settled
      ? { program: null, programPending: true }
      : { program: null };
  };

  const recent: AuditRecord[] = (opts.history ?? []).slice(-RECENT);
  const activity = new Set<(r: AuditRecord) => void>();
  const showActivity = (rec: AuditRecord) => {
    recent.push(rec);
    if (recent.length > RECENT) recent.shift();
    for (const fn of activity) fn(rec);
  };
  const refusalSink = opts.refusals ?? nullAudit;
  const refusals = new RefusalSummary({
    intervalMs: opts.refusalIntervalMs,
    emit: (recs) => {
      for (const rec of recs) {
        // Not on any request's path: a failure here is the trail's to report.
        Promise.resolve(refusalSink.write(rec)).catch((err: unknown) =>
          log.warn(`cannot write the refusal summary: ${String(err)}`),
        );
        showActivity(rec);
      }
    },
  });
  /** A /sign request's record, written before its answer is sent (rejects: 503 audit-unavailable). */
  const recordSign = (
    ctx: RequestContext,
    status: number,
    code: string,
    ms: number,
  ): void | Promise<void> => {
    const d = ctx.decision;
    // Refused before it was admitted (no one decided, nothing was read): counted only.
    if (status !== 200 && !d && !ctx.admitted) {
      refusals.count(ctx.client, code);
      return;
    }
    return recordActivity(ctx.client, {
      time: new Date().toISOString(),
      id: ctx.id,
      client: ctx.client.name,
      clientId: ctx.client.token?.id ?? null,
      ...programFields(ctx),
      claim: ctx.client.claim ?? null,
      remote: ctx.client.address,
      key: ctx.fingerprint ?? null,
      namespace: ctx.namespace ?? null,
      what: ctx.what ?? null,
      ...decisionFields(d),
      status,
      outcome: code,
      ms: Math.round(ms),
    });
  };
  /**
   * One record per signature asked for, over /sign or the agent endpoint, written (made
   * display-safe) before the answer leaves; shown once written.
   */
  const recordActivity = async (from: ClientInfo | null, raw: AuditRecord): Promise<void> => {
    // A refusal no person decided (a token holder's too): a few a minute are recorded, a
    // flood only counted — it must not rotate decisions away. Signatures and answers stay.
    if (from && isUndecidedRefusal(raw) && !refusals.mayRecordIndividually(from)) {
      refusals.count(from, raw.outcome);
      return;
    }
    showActivity(await trail.record(raw));
  };
  /** An event (a grant given, a token's end): written in order, ahead of the records that follow it. */
  const recordEvent = (raw: AuditRecord): void => {
    recordActivity(null, raw).catch(() => {
      // The trail is now unavailable and has said so; what follows is refused.
    });
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
    auditReady: () => trail.ready(),
    verificationBudget: new VerificationBudget(undefined, opts.clock),
    record: (r: EndpointRecord) =>
      recordActivity(r.client, {
        time: new Date().toISOString(),
        id: r.id,
        client: r.client.name,
        clientId: r.client.token?.id ?? null,
        program: r.client.program ? peerRecord(r.client.program) : null,
        remote: r.client.address,
        key: r.key,
        namespace: r.scope,
        what: r.what,
        ...decisionFields(r.decision),
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
  const stillLive = (client: ClientInfo): boolean => {
    try {
      stillAuthorized(client);
      return true;
    } catch {
      return false;
    }
  };
  // Counted from admission; served once its program is known (or its lookup's budget ran out).
  let shuttingDown = false;
  const serveAgent = (sock: Socket, head: Buffer, client: ClientInfo, unixPath?: string) => {
    agentConnectionsOf.set(client.id, (agentConnectionsOf.get(client.id) ?? 0) + 1);
    const release = () => {
      const left = (agentConnectionsOf.get(client.id) ?? 1) - 1;
      if (left > 0) agentConnectionsOf.set(client.id, left);
      else agentConnectionsOf.delete(client.id);
    };
    peers.thenServe(
      sock,
      unixPath,
      (program) => {
        if (shuttingDown || !stillLive(client)) {
          // A token revoked while the lookup ran was not among the connections it closed.
          sock.destroy();
          return release();
        }
        const conn = serveAgentConnection(sock, head, withProgram(client, program), endpointDeps);
        agentConnections.add(conn);
        conn.onClose(() => {
          agentConnections.delete(conn);
          release();
        });
      },
      release,
    );
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
    recordSign,
    budget: new ByteBudget(
      config.maxBodyInFlight,
      Math.max(config.maxBody, Math.floor(config.maxBodyInFlight / 4)),
    ),
    rateLimit: (client, signal) => rateLimiter.admit(client, signal),
    peerOf: (socket) => peers.of(socket),
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
      // No login could be recorded: refused before the connection is opened.
      admit: (client) => (trail.status().writable ? admitAgent(client) : auditUnavailable()),
      serve: serveAgent,
    }),
  });
  let localSocket: Server | null = null;
  if (config.agentSocket) {
    try {
      const path = config.agentSocket;
      // Reachable only by the person's own processes (0600 in a 0700 directory), all one
      // client: its connection cap, and silent connections dropped as on the HTTP port.
      const localClient = { id: 'local-socket', name: 'local socket', address: path };
      const localGate = new ConnectionGate({
        total: AGENT_CONNECTIONS_PER_CLIENT,
        perSource: AGENT_CONNECTIONS_PER_CLIENT,
        reserve: 0,
        silentMs: SILENT_CONNECTION_MS,
        log,
        what: 'agent socket',
      });
      localSocket = await listenLocalSocket(path, (sock) => {
        if (!localGate.accept(sock, 'the local socket')) return;
        if (admitAgent(localClient)) return void sock.destroy();
        serveAgent(sock, Buffer.alloc(0), localClient, path);
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
    auditStatus: () => trail.status(),
    onAuditStatus: (fn) => trail.onStatus(fn),
    onActivity(fn) {
      activity.add(fn);
      return () => activity.delete(fn);
    },
    applySettings: (values) =>
      applySettings(config, broker, refreshHosts, values, (next) => {
        refreshTokens(); // the token file as it is now: one created a moment ago counts
        refuseUnattendedAllowForAnyone(
          { ...next, policy: next.approval, usableTokens: tokens.usable().length },
          'approval',
        );
      }),
    createToken(name, tokenOpts) {
      const secret = tokens.create(name, tokenOpts);
      const made = tokens.usable().find((t) => t.name === name);
      if (made) recordEvent(tokenEventRecord('token-created', made, 'in the tray'));
      return secret;
    },
    revokeToken(name) {
      const before = tokens.usable().find((t) => t.name === name);
      const ok = tokens.revoke(name);
      if (ok && before) recordEvent(tokenEventRecord('token-revoked', before, 'in the tray'));
      if (ok) refreshTokens();
      return ok;
    },
    async close(graceMs = 5_000) {
      clearInterval(tokenPoll);
      shuttingDown = true;
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
      refusals.close();
      trail.close();
      await refusalSink
        .flush?.()
        .catch((err: unknown) =>
          log.error(`cannot write the last refusal summaries: ${String(err)}`),
        );
      // Records of requests that ended are queued; none is lost on a clean shutdown.
      await audit
        .flush?.()
        .catch((err: unknown) => log.error(`cannot write the last audit records: ${String(err)}`));
    },
  };
}
