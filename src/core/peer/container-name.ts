// A container's name, asked of its engine where the engine's API socket is readable to this
// user: Docker's (`DOCKER_HOST=unix://…`, else /var/run/docker.sock) or Podman's Docker-
// compatible one ($XDG_RUNTIME_DIR/podman/podman.sock rootless, /run/podman/podman.sock).
// `GET /containers/ID/json` answers `"Name": "/name"` on both. Unreadable socket, no engine,
// an unknown id, a slow or odd answer: the id is shown instead.
import { request } from 'node:http';
import { join } from 'node:path';
import type { ContainerRef } from './peer-process.js';

/** Where each engine listens, most specific first. */
export function engineSockets(engine: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const docker = env.DOCKER_HOST?.startsWith('unix://')
    ? [env.DOCKER_HOST.slice('unix://'.length)]
    : [];
  const podman = [
    ...(env.XDG_RUNTIME_DIR ? [join(env.XDG_RUNTIME_DIR, 'podman', 'podman.sock')] : []),
    '/run/podman/podman.sock',
  ];
  if (engine === 'podman') return [...podman, ...docker];
  if (engine === 'docker') return [...docker, '/var/run/docker.sock'];
  return [];
}

const MAX_ANSWER = 1 << 20;

/** The engine's name for the container at `socketPath`, or undefined. */
export function askEngine(
  socketPath: string,
  id: string,
  signal: AbortSignal,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    if (!/^[0-9a-f]{64}$/.test(id) || signal.aborted) return resolve(undefined);
    const req = request(
      {
        socketPath,
        path: `/containers/${id}/json`,
        method: 'GET',
        headers: { Host: 'engine' },
        signal,
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return resolve(undefined);
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER) {
            req.destroy();
            return resolve(undefined);
          }
          chunks.push(c);
        });
        res.on('end', () => {
          try {
            const name = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Name?: unknown })
              .Name;
            resolve(typeof name === 'string' && name ? name.replace(/^\//, '') : undefined);
          } catch {
            resolve(undefined);
          }
        });
        res.on('error', () => resolve(undefined));
      },
    );
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** The container with its engine's name added, when some engine socket knows it. */
export async function nameContainer(
  c: ContainerRef,
  signal: AbortSignal,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ContainerRef> {
  for (const sock of engineSockets(c.engine, env)) {
    const name = await askEngine(sock, c.id, signal);
    if (name) return { ...c, name };
  }
  return c;
}
