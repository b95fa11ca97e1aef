// Approval policy `allow` signs with no person asked. Without a client token that means
// any local process or user signs, silently and unnamed — so, like listening beyond
// loopback, it needs at least one token, unless the Rust tool's trust model is chosen
// outright (SSH_AGENT_PROXY_ALLOW_ANY_LOCAL_PROCESS).
import { ConfigError } from '../config/settings-spec.js';

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
    'approval "allow" needs at least one client token, else any local process or user signs without a prompt or a name; create one with: ssh-agent-proxy token create NAME (or choose approval "prompt"; to accept anyone on purpose see SSH_AGENT_PROXY_ALLOW_ANY_LOCAL_PROCESS)',
  );
}
