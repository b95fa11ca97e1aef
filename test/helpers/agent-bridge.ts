// The container side of the agent endpoint for tests: raw upgraded connections (to poke
// at the endpoint byte by byte) and the real shim's `agent` bridge.
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { onCleanup } from './openssh.js';

/** Open one upgraded connection; resolves with the socket once 101 arrived. */
export function upgradeAgent(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ socket: Socket; status: number; head: string; rest: Buffer }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: u.hostname, port: Number(u.port) });
    const all: Record<string, string> = {
      Host: u.host,
      Upgrade: 'ssh-agent',
      Connection: 'Upgrade',
      ...headers,
    };
    socket.once('connect', () => {
      const lines = Object.entries(all)
        .filter(([, v]) => v !== '')
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.write(
        `GET ${u.pathname === '/' ? '/agent' : u.pathname}${u.search} HTTP/1.1\r\n${lines}\r\n`,
      );
    });
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      const head = buf.subarray(0, end).toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ socket, status, head, rest: buf.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed before an answer: ${buf.toString()}`)));
  });
}

export interface ShimBridge {
  sock: string;
  /** The bridge's own process (its relays run below it). */
  pid: number;
  /** The first line the shim printed (`SSH_AUTH_SOCK=…; export SSH_AUTH_SOCK`). */
  line: string;
  stderr: () => string;
  stop(): Promise<void>;
}

/**
 * `ssh-agent-proxy-sign agent SOCK` under `shell` (dash by default), resolved once it listens;
 * `path` is the sandbox's PATH (the test's own by default).
 */
export async function startShimBridge(
  dir: string,
  url: string,
  token?: string,
  shell = 'dash',
  at?: string,
  path = process.env.PATH,
): Promise<ShimBridge> {
  const { spawn } = await import('node:child_process');
  const { SHIM } = await import('./proxy.js');
  const { waitFor } = await import('./openssh.js');
  const sock = at ?? join(dir, `shim-${Math.random().toString(36).slice(2)}.sock`);
  const child = spawn(shell, [SHIM, 'agent', sock], {
    env: {
      PATH: path,
      HOME: dir,
      SSH_AGENT_PROXY_URL: `${url}/sign`,
      ...(token ? { SSH_AGENT_PROXY_TOKEN: token } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(-child.pid!, 'SIGTERM');
      await exited;
    }
  };
  onCleanup(stop);
  await waitFor(() => out.includes('\n') || child.exitCode !== null, 15_000, 'the shim bridge');
  if (!out.includes('\n')) throw new Error(`the shim bridge exited ${child.exitCode}: ${err}`);
  return { sock, pid: child.pid!, line: out.split('\n')[0]!, stderr: () => err, stop };
}
