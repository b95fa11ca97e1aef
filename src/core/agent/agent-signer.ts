// Lifecycle steps 4 and 6 against the agent: resolve the key (list, pick), sign
// (SIGN_REQUEST, check, wrap). Connections are kept between operations (agent-pool.ts),
// what the agent says is not: a key rotated in the agent is used on the very next request.
import type { AgentConnection, AgentTimeouts, Identity } from './agent-client.js';
import { AgentPool } from './agent-pool.js';
import { ProxyError } from '../errors.js';
import { selectKey, type KeyPolicy } from './key-selection.js';
import type { Logger } from '../logger.js';
import { checkSignature, SignatureCheckError, signFlags } from '../ssh/signature-check.js';
import { armor, envelope, signedData } from '../ssh/sshsig.js';

export interface AgentSignerOptions {
  /** Read on every operation, so a settings change applies to the next request. */
  upstream: () => string | null;
  timeouts: AgentTimeouts;
  log: Logger;
}

/** Idle agent connections kept, and for how long. */
const POOL = { maxIdle: 8, idleMs: 15_000, maxAgeMs: 60_000 };

export class AgentSigner {
  private readonly pool: AgentPool;

  constructor(private readonly opts: AgentSignerOptions) {
    this.pool = new AgentPool({ timeouts: opts.timeouts, ...POOL });
  }

  /** Close the kept agent connections (the proxy is stopping). */
  close(): void {
    this.pool.close();
  }

  private path(): string {
    const p = this.opts.upstream();
    if (!p) {
      throw new ProxyError(
        503,
        'agent-unreachable',
        'no SSH agent found: SSH_AUTH_SOCK is unset and no well-known agent socket exists; set SSH_AGENT_PROXY_UPSTREAM',
      );
    }
    return p;
  }

  /** A connection for `fn`, so one approval-free request can list and sign on it. */
  session<T>(fn: (conn: AgentConnection) => Promise<T>): Promise<T> {
    return this.pool.use(this.path(), fn);
  }

  listKeys(): Promise<Identity[]> {
    return this.session((c) => c.listIdentities());
  }

  async resolveKey(
    policy: KeyPolicy,
    requested?: string,
    conn?: AgentConnection,
  ): Promise<Identity> {
    const held = conn ? await conn.listIdentities() : await this.listKeys();
    return selectKey(held, policy, requested);
  }

  /** Sign `message` as SSHSIG in `namespace`; the signature is verified before it is returned. */
  async sign(
    id: Identity,
    namespace: string,
    message: Buffer,
    conn?: AgentConnection,
  ): Promise<string> {
    if (!conn) return this.session((c) => this.sign(id, namespace, message, c));
    const data = signedData(namespace, message);
    const sig = await conn.sign(id.key.blob, data, signFlags(id.key));
    try {
      checkSignature(id.key, data, sig);
    } catch (err) {
      conn.close(); // an agent that lies is not asked again on this connection
      if (!(err instanceof SignatureCheckError)) throw err;
      this.opts.log.error(`refused the agent's signature with ${id.fingerprint}: ${err.message}`);
      throw new ProxyError(
        502,
        'bad-signature',
        `the agent's signature was refused: ${err.message}`,
      );
    }
    return armor(envelope(id.key.blob, namespace, sig));
  }
}
