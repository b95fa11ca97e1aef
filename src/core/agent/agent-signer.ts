// Lifecycle steps 4 and 6 against the agent: resolve the key (dial, list, pick, close),
// sign (dial, SIGN_REQUEST, check, wrap, close). Nothing is kept between operations,
// so a key rotated in the agent is used on the very next request.
import {
  withAgent,
  type AgentConnection,
  type AgentTimeouts,
  type Identity,
} from './agent-client.js';
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

export class AgentSigner {
  constructor(private readonly opts: AgentSignerOptions) {}

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

  /** A fresh connection for `fn`; exported so one approval-free request can list and sign on it. */
  session<T>(fn: (conn: AgentConnection) => Promise<T>): Promise<T> {
    return withAgent(this.path(), this.opts.timeouts, fn);
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
    const data = signedData(namespace, message);
    const sig = conn
      ? await conn.sign(id.key.blob, data, signFlags(id.key))
      : await this.session((c) => c.sign(id.key.blob, data, signFlags(id.key)));
    try {
      checkSignature(id.key, data, sig);
    } catch (err) {
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
