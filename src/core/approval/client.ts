// Who is asking. A client is identified by its token — by the token's stable id, never its
// name, so a new token that reuses a name starts with nothing the old one was given — or,
// without a token, by where it calls from: every anonymous loopback caller is one client
// (`local`), whatever 127.x address it picks, so limits cannot be dodged by changing it.
import { isLoopbackHost } from '../host-port.js';
import type { PeerProcess } from '../peer/peer-process.js';

/** What a token allowed when the request was authenticated; the request keeps it. */
export interface TokenLimits {
  /** Stable identity of the token record (not its name, not its secret). */
  id: string;
  name: string;
  /** Fingerprints it may sign with; empty = any allowed key. */
  keys: readonly string[];
  /** Namespaces it may use; empty = any allowed namespace. */
  namespaces: readonly string[];
  gitOnly: boolean;
}

export interface ClientInfo {
  /** Stable identity: grants, pending prompts and rate buckets key on it. */
  id: string;
  /** How the client is shown to a person and in the audit log. */
  name: string;
  address: string;
  /** Present when the request carried a valid token. */
  tokenName?: string;
  /** The token's limits as authenticated; present exactly when tokenName is. */
  token?: TokenLimits;
  /**
   * The program at the other end, as the host saw it (same-host connections only, looked
   * up once per connection). Information for the person and the audit — never identity:
   * grants, limits and rate buckets never key on it.
   */
  program?: PeerProcess;
  /**
   * What the sandbox says runs it (the shim's parent, e.g. `git commit -S`): its own claim,
   * unverified, shown apart from what the host saw. Per request.
   */
  claim?: string;
}

export function anonymousClient(address: string): ClientInfo {
  return {
    id: isLoopbackHost(address) ? 'local' : `remote ${address}`,
    name: `local ${address}`,
    address,
  };
}

export function tokenClient(token: TokenLimits, address: string): ClientInfo {
  return { id: `token ${token.id}`, name: token.name, address, tokenName: token.name, token };
}
