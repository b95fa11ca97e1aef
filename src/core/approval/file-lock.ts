// A lock file beside a file that several processes rewrite (the CLI, the tray, the proxy):
// created exclusively, holding the writer's pid, removed when done. A lock whose writer
// died is taken over; one held too long is reported, never waited on for ever. Synchronous,
// because its callers (token create/revoke) are.
import {
  closeSync,
  fstatSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';

/** A lock older than this is from a writer that died (a write takes milliseconds). */
const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 10_000;

export class LockError extends Error {
  override name = 'LockError';
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
const pause = (ms: number) => Atomics.wait(sleeper, 0, 0, ms);

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove a lock whose writer died; true when it was removed (or vanished). The pid is read
 * through a descriptor and the lock is removed only if the path still names that same file:
 * a writer that released its lock and exited must never make us delete the next writer's
 * fresh lock (that would let two writers in at once).
 */
function removeIfStale(lock: string): boolean {
  let fd: number;
  try {
    fd = openSync(lock, 'r');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
  let judged: { ino: number; dev: number };
  try {
    const st = fstatSync(fd);
    const pid = Number(readFileSync(fd, 'utf8'));
    // An empty file is a writer between open and write: not stale unless old.
    const dead = pid > 0 ? !pidAlive(pid) : false;
    if (!dead && Date.now() - st.mtimeMs < STALE_LOCK_MS) return false;
    judged = { ino: st.ino, dev: st.dev };
  } finally {
    closeSync(fd);
  }
  try {
    const now = statSync(lock);
    if (now.ino !== judged.ino || now.dev !== judged.dev) return false; // replaced meanwhile
    unlinkSync(lock);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** Run `fn` holding `${path}.lock`; throws LockError when it cannot be had. */
export function withFileLock<T>(path: string, fn: () => T): T {
  const lock = `${path}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new LockError(`cannot lock ${lock}: ${(err as Error).message}`);
    }
    if (removeIfStale(lock)) continue;
    if (Date.now() > deadline)
      throw new LockError(
        `${lock} is held by another process; try again, or remove it if none runs`,
      );
    pause(5 + Math.floor(Math.random() * 10));
  }
  try {
    return fn();
  } finally {
    try {
      unlinkSync(lock);
    } catch {
      // already gone: nothing to release
    }
  }
}
