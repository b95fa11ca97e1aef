// The optional host-local agent socket (SSH_AGENT_PROXY_AGENT_SOCKET): the same gate for
// processes on the host, or a VM with a socket mount. Only the person's own processes can
// reach it: the socket is 0600 inside a directory that must be 0700 and theirs (created so
// when missing). A leftover socket nobody listens on is replaced; anything else in the way
// — a live socket, a regular file — is an error, never deleted. Node exposes no peer
// credentials (SO_PEERCRED / getpeereid), so the directory's permissions are the check.
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';

export class LocalSocketError extends Error {
  override name = 'LocalSocketError';
}

function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function checkDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new LocalSocketError(`cannot create ${dir} (${(err as NodeJS.ErrnoException).code})`);
  }
  // lstat: a symlinked directory could be re-pointed later by whoever owns the link.
  const st = lstatSync(dir);
  if (st.isSymbolicLink())
    throw new LocalSocketError(`${dir} is a symbolic link; give the real directory`);
  if (!st.isDirectory()) throw new LocalSocketError(`${dir} is not a directory`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid)
    throw new LocalSocketError(`${dir} belongs to another user; use a directory of your own`);
  if ((st.mode & 0o077) !== 0)
    throw new LocalSocketError(
      `${dir} is reachable by other users (mode ${(st.mode & 0o777).toString(8)}); it must be 0700`,
    );
}

/** Listen on `path`; `serve` gets each connection. */
export async function listenLocalSocket(
  path: string,
  serve: (socket: Socket) => void,
): Promise<Server> {
  if (process.platform === 'win32')
    throw new LocalSocketError('a host-local agent socket is not supported on Windows');
  checkDirectory(dirname(path));
  let st;
  try {
    st = lstatSync(path);
  } catch {
    st = null;
  }
  if (st) {
    if (!st.isSocket()) throw new LocalSocketError(`${path} exists and is not a socket`);
    if (await isLive(path))
      throw new LocalSocketError(`${path} is in use (another ssh-agent-proxy?)`);
    unlinkSync(path); // stale: its listener is gone
  }
  const server = createServer({ allowHalfOpen: true }, serve);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new LocalSocketError(`cannot listen on ${path} (${err.code ?? err.message})`)),
    );
    server.listen({ path }, () => resolve());
  });
  chmodSync(path, 0o600);
  return server;
}
