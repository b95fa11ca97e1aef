// A container-side bridge written in Node, for tests that exercise the proxy's agent
// endpoint without the shell shim: a Unix socket whose every connection is relayed
// through `GET /agent` (Upgrade: ssh-agent) with the given token.
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { onCleanup } from './openssh.js';

export interface Bridge {
  sock: string;
  /** The proxy's answer line to the last refused upgrade. */
  refusals: string[];
}

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

export async function startBridge(dir: string, url: string, token?: string): Promise<Bridge> {
  const sock = join(dir, `bridge-${Math.random().toString(36).slice(2)}.sock`);
  const refusals: string[] = [];
  const server = createServer({ allowHalfOpen: true }, (client) => {
    client.pause();
    upgradeAgent(url, token ? { Authorization: `Bearer ${token}` } : {}).then(
      ({ socket, status, rest }) => {
        socket.removeAllListeners('close');
        socket.removeAllListeners('error');
        if (status !== 101) {
          refusals.push(rest.toString().trim());
          socket.destroy();
          client.destroy();
          return;
        }
        if (rest.length) client.write(rest);
        socket.pipe(client);
        client.pipe(socket);
        client.resume();
        socket.resume();
        socket.on('error', () => client.destroy());
        client.on('error', () => socket.destroy());
        socket.on('close', () => client.destroy());
        client.on('close', () => socket.destroy());
      },
      () => client.destroy(),
    );
  });
  await new Promise<void>((r) => server.listen(sock, r));
  onCleanup(() => server.close());
  return { sock, refusals };
}
