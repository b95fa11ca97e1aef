// `npm run console` runs the CLI under `sh -c`; a SIGTERM to npm reaches that shell, which
// exits without passing it on, and the proxy would keep listening as an orphan. When npm
// started us, we watch our parent: once it is gone (we are re-parented), we stop as if
// sent SIGTERM. Outside npm a vanished parent means nothing (`nohup … &` is legitimate).
export function startedByNpm(env: NodeJS.ProcessEnv): boolean {
  return typeof env.npm_lifecycle_event === 'string' && env.npm_lifecycle_event !== '';
}

/** Calls `onGone` once when the parent process changes; returns a stop function. */
export function watchParent(onGone: () => void, intervalMs = 500): () => void {
  const original = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== original) {
      clearInterval(timer);
      onGone();
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
