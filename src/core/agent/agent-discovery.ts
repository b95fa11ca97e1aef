// The agents on this machine, for the settings picker: SSH_AUTH_SOCK, the well-known
// sockets (1Password, Secretive, Bitwarden, gpg-agent), the Windows pipe, plus the one
// configured — each with whether it answers and how many keys it holds.
import { existsSync } from 'node:fs';
import { AgentConnection } from './agent-client.js';
import { wellKnownAgents, type AgentLocation, type PlatformInfo } from './agent-dialer.js';
import { ProxyError } from '../errors.js';

export interface AgentCandidate extends AgentLocation {
  exists: boolean;
  reachable: boolean;
  keyCount: number | null;
  error: string | null;
}

export function candidateAgents(p: PlatformInfo, configured: string | null): AgentLocation[] {
  const list: AgentLocation[] = [];
  if (configured) list.push({ name: 'Configured', path: configured });
  if (p.env.SSH_AUTH_SOCK && p.platform !== 'win32')
    list.push({ name: 'SSH_AUTH_SOCK', path: p.env.SSH_AUTH_SOCK });
  list.push(...wellKnownAgents(p));
  const seen = new Set<string>();
  return list.filter((a) => !seen.has(a.path) && seen.add(a.path));
}

export async function probeAgent(a: AgentLocation, timeoutMs = 2_000): Promise<AgentCandidate> {
  const isPipe = a.path.startsWith('\\\\.\\pipe\\');
  const exists = isPipe || existsSync(a.path);
  if (!exists) return { ...a, exists, reachable: false, keyCount: null, error: 'not found' };
  try {
    const conn = await AgentConnection.open(a.path, {
      connectMs: timeoutMs,
      listMs: timeoutMs,
      signMs: timeoutMs,
    });
    try {
      const keys = await conn.listIdentities();
      return { ...a, exists, reachable: true, keyCount: keys.length, error: null };
    } finally {
      conn.close();
    }
  } catch (err) {
    return {
      ...a,
      exists,
      reachable: false,
      keyCount: null,
      error: err instanceof ProxyError ? err.code : (err as Error).message,
    };
  }
}

export function discoverAgents(
  p: PlatformInfo,
  configured: string | null,
): Promise<AgentCandidate[]> {
  return Promise.all(candidateAgents(p, configured).map((a) => probeAgent(a)));
}
