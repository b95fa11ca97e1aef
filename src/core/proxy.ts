// Composition: config + agent + HTTP → a running proxy. Shells (CLI, Electron main) call
// startProxy and adapt its events; every decision is made here or below.
import type { ServerResponse, IncomingMessage } from 'node:http';
import { AgentSigner } from './agent-signer.js';
import type { Config } from './config.js';
import { ProxyError } from './errors.js';
import { allowedHostHeaders } from './host-guard.js';
import {
  createHttpHandler,
  type ClientInfo,
  type ProxyApi,
  type RequestContext,
} from './http-server.js';
import { parseKeySpec, type KeyPolicy } from './key-selection.js';
import { authorizedKeyLine } from './keys.js';
import { listen, type Listening } from './listener.js';
import type { Logger } from './logger.js';
import { isValidNamespace } from './sshsig.js';

export const AGENT_CONNECT_TIMEOUT_MS = 5_000;

export interface ProxyOptions {
  config: Config;
  log: Logger;
  /** The container-side shim served at GET /shim. */
  shimText: string;
}

export interface RunningProxy {
  /** Base URL actually served, e.g. http://127.0.0.1:7221 */
  url(): string;
  port(): number;
  signer: AgentSigner;
  /** Stop accepting, let in-flight requests finish (bounded by graceMs), then drop the rest. */
  close(graceMs?: number): Promise<void>;
}

function anonymous(_authorization: string | undefined, address: string): ClientInfo {
  return { name: `local ${address}`, address };
}

export async function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  const { config, log } = opts;
  const signer = new AgentSigner({
    upstream: () => config.agent?.path ?? null,
    timeouts: {
      connectMs: Math.min(AGENT_CONNECT_TIMEOUT_MS, config.listTimeout),
      listMs: config.listTimeout,
      signMs: config.signTimeout,
    },
    log,
  });
  const keyPolicy: KeyPolicy = {
    pinned: config.pinnedFingerprint ? new Set([config.pinnedFingerprint]) : null,
  };
  const requestedKey = (spec: string | undefined, source: string) =>
    spec === undefined ? undefined : parseKeySpec(spec, source);

  const resolveNamespace = (ns: string | undefined): string => {
    const chosen = ns ?? config.namespace;
    if (!isValidNamespace(chosen))
      throw new ProxyError(
        400,
        'bad-namespace',
        'namespace must be 1-64 of letters, digits, @._+-',
      );
    if (!config.namespaces.includes(chosen)) {
      throw new ProxyError(
        403,
        'namespace-not-allowed',
        `namespace "${chosen}" is not allowed (see SSH_AGENT_PROXY_NAMESPACES)`,
      );
    }
    return chosen;
  };

  const api: ProxyApi = {
    async sign(ctx: RequestContext, input) {
      ctx.namespace = resolveNamespace(input.namespace);
      const requested = requestedKey(input.keySpec, 'the key parameter');
      // Unattended: list, pick and sign on one agent connection.
      return signer.session(async (conn) => {
        const id = await signer.resolveKey(keyPolicy, requested, conn);
        ctx.fingerprint = id.fingerprint;
        return signer.sign(id, ctx.namespace as string, input.body, conn);
      });
    },
    async publicKey(ctx, keySpec) {
      const id = await signer.resolveKey(keyPolicy, requestedKey(keySpec, 'the key parameter'));
      ctx.fingerprint = id.fingerprint;
      return authorizedKeyLine(id.key, id.comment);
    },
    async keys() {
      return (await signer.listKeys()).map((id) => ({
        type: id.key.type,
        fingerprint: id.fingerprint,
        comment: id.comment,
        publicKey: authorizedKeyLine(id.key, id.comment),
        usable: id.key.signing !== null,
      }));
    },
    shim: () => opts.shimText,
  };

  let hosts = new Set<string>();
  const inFlight = new Set<ServerResponse>();
  const handle = createHttpHandler({
    api,
    maxBody: config.maxBody,
    bodyTimeoutMs: config.bodyTimeout,
    log,
    allowedHosts: () => hosts,
    authenticate: anonymous,
  });
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    inFlight.add(res);
    res.on('close', () => inFlight.delete(res));
    void handle(req, res);
  };
  const listening: Listening = await listen(handler, config.addr, log);
  const refreshHosts = () => {
    const cur = listening.current();
    hosts = allowedHostHeaders(cur.host, cur.port, config.allowedHosts);
    // While on the fallback, the configured name is what clients were told to use.
    for (const h of allowedHostHeaders(config.addr.host, cur.port, [])) hosts.add(h);
  };
  refreshHosts();
  listening.onChange(refreshHosts);

  const url = () => {
    const cur = listening.current();
    const host = cur.host === '0.0.0.0' ? '127.0.0.1' : cur.host === '::' ? '::1' : cur.host;
    return `http://${host.includes(':') ? `[${host}]` : host}:${cur.port}`;
  };

  return {
    url,
    port: () => listening.current().port,
    signer,
    async close(graceMs = 5_000) {
      const servers = listening.servers();
      listening.close();
      for (const s of servers) s.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (inFlight.size > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 25));
      for (const s of servers) s.closeAllConnections();
    },
  };
}
