// Start-up that fails visibly. Anything that goes wrong while the tray starts — not only
// a bad setting or a taken port — becomes an error dialog and an exit, which also releases
// the single-instance lock; never an unhandled rejection that leaves a process with no
// tray, no window and the lock held.
import { ConfigError } from '../core/config/config.js';
import { ListenError } from '../core/http/listener.js';

export interface StartupFailure {
  title: string;
  message: string;
  code: number;
}

export function describeStartupError(err: unknown): StartupFailure {
  if (err instanceof ConfigError)
    return { title: 'SSH Agent Proxy: invalid setting', message: err.message, code: 2 };
  if (err instanceof ListenError)
    return { title: 'SSH Agent Proxy cannot start', message: err.message, code: 1 };
  const message = err instanceof Error ? err.message : String(err);
  return {
    title: 'SSH Agent Proxy cannot start',
    message: `unexpected error: ${message}`,
    code: 1,
  };
}

export async function startOrFail(
  start: () => Promise<void>,
  fail: (f: StartupFailure) => void,
  log: (line: string) => void,
): Promise<void> {
  try {
    await start();
  } catch (err) {
    const f = describeStartupError(err);
    // A bad setting or a taken port is the person's to fix: its sentence is enough. Anything
    // else is ours: keep the stack for the bug report.
    const expected = err instanceof ConfigError || err instanceof ListenError;
    log(
      `start-up failed: ${expected || !(err instanceof Error) ? f.message : (err.stack ?? f.message)}`,
    );
    fail(f);
  }
}
