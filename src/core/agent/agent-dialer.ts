// Where the agent is and how to reach it. A Unix socket and a Windows named pipe
// (`\\.\pipe\…`) take the same path: net.connect opens both natively.
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { ProxyError } from '../errors.js';

export const WINDOWS_OPENSSH_PIPE = '\\\\.\\pipe\\openssh-ssh-agent';

export interface AgentLocation {
  /** Display name: `SSH_AUTH_SOCK`, `1Password`, … */
  name: string;
  path: string;
}

export interface PlatformInfo {
  platform: NodeJS.Platform;
  env: Readonly<Record<string, string | undefined>>;
  home: string;
  uid?: number;
}

/** Agents that put their socket in a fixed place; apps started at login often lack SSH_AUTH_SOCK. */
export function wellKnownAgents(p: PlatformInfo): AgentLocation[] {
  const h = (...parts: string[]) => join(p.home, ...parts);
  if (p.platform === 'win32')
    return [{ name: 'Windows OpenSSH agent', path: WINDOWS_OPENSSH_PIPE }];
  const runtime = p.env.XDG_RUNTIME_DIR ?? (p.uid !== undefined ? `/run/user/${p.uid}` : undefined);
  if (p.platform === 'darwin') {
    return [
      {
        name: '1Password',
        path: h('Library/Group Containers/2BUA8C4S2C.com.1password/t/agent.sock'),
      },
      {
        name: 'Secretive',
        path: h('Library/Containers/com.maxgoedjen.Secretive.SecretAgent/Data/socket.ssh'),
      },
      { name: 'Bitwarden', path: h('.bitwarden-ssh-agent.sock') },
      { name: 'gpg-agent', path: h('.gnupg/S.gpg-agent.ssh') },
    ];
  }
  return [
    { name: '1Password', path: h('.1password/agent.sock') },
    { name: 'Bitwarden', path: h('.bitwarden-ssh-agent.sock') },
    {
      name: 'Bitwarden (Flatpak)',
      path: h('.var/app/com.bitwarden.desktop/data/.bitwarden-ssh-agent.sock'),
    },
    ...(runtime ? [{ name: 'gpg-agent', path: join(runtime, 'gnupg/S.gpg-agent.ssh') }] : []),
    { name: 'gpg-agent', path: h('.gnupg/S.gpg-agent.ssh') },
  ];
}

/**
 * The agent to use when nothing is configured: `SSH_AUTH_SOCK`, the OpenSSH pipe on
 * Windows, else the first well-known socket that exists.
 */
export function defaultAgent(
  p: PlatformInfo,
  exists: (path: string) => boolean = existsSync,
): AgentLocation | null {
  if (p.platform === 'win32') return { name: 'Windows OpenSSH agent', path: WINDOWS_OPENSSH_PIPE };
  const sock = p.env.SSH_AUTH_SOCK;
  if (sock) return { name: 'SSH_AUTH_SOCK', path: sock };
  return wellKnownAgents(p).find((a) => exists(a.path)) ?? null;
}

/** Open a fresh connection to the agent; errors are already the HTTP answer. */
export function dialAgent(path: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ path });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new ProxyError(504, 'agent-timeout', `connecting to the agent at ${path} timed out`));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      sock.destroy();
      reject(dialError(path, err));
    });
  });
}

function dialError(path: string, err: NodeJS.ErrnoException): ProxyError {
  const hint = 'check that the agent is running, or set SSH_AGENT_PROXY_UPSTREAM';
  switch (err.code) {
    case 'ENOENT':
      return new ProxyError(503, 'agent-unreachable', `no agent socket at ${path}; ${hint}`);
    case 'ECONNREFUSED':
      return new ProxyError(503, 'agent-unreachable', `nothing is listening at ${path}; ${hint}`);
    case 'EACCES':
    case 'EPERM':
      return new ProxyError(503, 'agent-unreachable', `permission denied opening ${path}`);
    default:
      return new ProxyError(
        503,
        'agent-unreachable',
        `cannot reach the agent at ${path} (${err.code ?? err.message})`,
      );
  }
}
