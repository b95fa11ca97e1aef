// At start, one line that says whether signing can work: which agent is dialled, whether it
// answers, how many keys it holds (and whether the pinned key is among them). When it
// cannot work yet, a warning that names the fix. Both shells show it (the console's log, the
// tray's log and a notification); the proxy starts either way, because an agent that is
// locked or not started yet often comes up later, and every request asks it afresh.
import { AgentConnection, type Identity } from './agent-client.js';
import { ProxyError } from '../errors.js';

export interface AgentCheckInput {
  agent: { path: string; source: string } | null;
  pinnedFingerprint: string | null;
}

export interface AgentCheck {
  /** `ok`: signing can work; anything else is a warning. */
  state: 'ok' | 'no-agent' | 'unreachable' | 'no-keys' | 'pinned-key-missing';
  keyCount: number | null;
  /** One line for a log: agent, answer, keys — and the fix when it is not `ok`. */
  message: string;
  /** The fix alone (empty when `ok`), for a notification body. */
  fix: string;
}

const START_AGENT =
  'start your agent (or unlock it), or point SSH_AGENT_PROXY_UPSTREAM at the socket it listens on';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export async function checkAgentAtStart(
  input: AgentCheckInput,
  timeoutMs = 2_000,
): Promise<AgentCheck> {
  const { agent } = input;
  if (!agent) {
    const fix =
      'set SSH_AUTH_SOCK (start ssh-agent: eval "$(ssh-agent)") or SSH_AGENT_PROXY_UPSTREAM';
    return {
      state: 'no-agent',
      keyCount: null,
      message: `agent: none found — signing cannot work; ${fix}`,
      fix,
    };
  }
  const where = `agent: ${agent.path} (${agent.source})`;
  let keys: Identity[];
  try {
    const conn = await AgentConnection.open(agent.path, {
      connectMs: timeoutMs,
      listMs: timeoutMs,
      signMs: timeoutMs,
    });
    try {
      keys = await conn.listIdentities();
    } finally {
      conn.close();
    }
  } catch (err) {
    const why =
      err instanceof ProxyError
        ? err.message
        : ((err as NodeJS.ErrnoException).code ?? (err as Error).message);
    return {
      state: 'unreachable',
      keyCount: null,
      message: `${where} does not answer (${why}) — signing will fail until it does; ${START_AGENT}`,
      fix: START_AGENT,
    };
  }
  if (keys.length === 0) {
    const fix =
      'add one with ssh-add (e.g. ssh-add ~/.ssh/id_ed25519), or unlock the password manager that holds it';
    return {
      state: 'no-keys',
      keyCount: 0,
      message: `${where} answers but holds no keys — signing will fail until it does; ${fix}`,
      fix,
    };
  }
  const pinned = input.pinnedFingerprint;
  if (pinned && !keys.some((k) => k.fingerprint === pinned)) {
    const fix = `add the pinned key ${pinned} to the agent (ssh-add), or change SSH_AGENT_PROXY_PUBKEY`;
    return {
      state: 'pinned-key-missing',
      keyCount: keys.length,
      message: `${where} answers and holds ${plural(keys.length, 'key')}, but not the pinned key — signing will fail; ${fix}`,
      fix,
    };
  }
  return {
    state: 'ok',
    keyCount: keys.length,
    message: `${where} answers and holds ${plural(keys.length, 'key')}`,
    fix: '',
  };
}
