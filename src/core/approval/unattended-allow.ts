// Approval policy `allow` signs with no person asked. It is meant for sandboxes that each
// hold a client token: the token names the caller in the audit and scopes what it may do.
// A caller with no token would sign silently and unnamed, so:
// - start-up and a settings change refuse `allow` while no token exists (like listening
//   beyond loopback), and
// - under `allow`, a client that presents no token is still asked like under `prompt`
//   (the host-local agent socket never carries one, so one token made for some sandbox
//   must not turn the socket, or a VM it is mounted into, into a silent signer),
// unless the Rust tool's trust model is chosen outright (SSH_AGENT_PROXY_ALLOW_ANY_LOCAL_PROCESS).
import { ConfigError } from '../config/settings-spec.js';
import type { ClientInfo } from './client.js';

export interface UnattendedState {
  policy: 'prompt' | 'allow' | 'deny';
  allowAnyLocalProcess: boolean;
  usableTokens: number;
}

/** Throws ConfigError naming `setting` when `allow` would sign for anyone. */
export function refuseUnattendedAllowForAnyone(state: UnattendedState, setting: string): void {
  if (state.policy !== 'allow' || state.allowAnyLocalProcess || state.usableTokens > 0) return;
  throw new ConfigError(
    setting,
    'approval "allow" needs at least one client token, else any local process or user signs without a prompt or a name; create one with: ssh-agent-proxy token create NAME (or choose approval "prompt"; to accept anyone on purpose see SSH_AGENT_PROXY_ALLOW_ANY_LOCAL_PROCESS, which takes effect at start)',
  );
}

/**
 * Whether policy `allow` may decide for this client with no person asked: a client that
 * presented a token, or anyone once anyone was accepted on purpose. A tokenless client is
 * otherwise asked (and can be given a grant) as under `prompt`.
 */
export function allowsUnattended(client: ClientInfo, allowAnyLocalProcess: boolean): boolean {
  return allowAnyLocalProcess || client.token !== undefined;
}

/**
 * Whether some request may wait for a person under this configuration, so a prompter is
 * worth attaching. Under `allow` only tokenless clients are asked, and `allow` without the
 * consent runs only once a token exists, which makes every HTTP request need one: the
 * host-local agent socket is then the one tokenless client left.
 */
export function someoneMayBeAsked(c: {
  approval: UnattendedState['policy'];
  allowAnyLocalProcess: boolean;
  agentSocket: string | null;
}): boolean {
  if (c.approval !== 'allow') return c.approval === 'prompt';
  return !c.allowAnyLocalProcess && c.agentSocket !== null;
}
