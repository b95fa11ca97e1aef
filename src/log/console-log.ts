// The `--console` log: lines on stderr (stdout stays clean for scripts) and in
// <config dir>/logs/console.log (0600, rotated). Neither write happens on the request's
// path: stderr lines are gathered and written once per event-loop turn (and at exit),
// the file through the asynchronous appender, flushed on a clean shutdown.
import { join } from 'node:path';
import type { Logger, LogLevel } from '../core/logger.js';
import { AppendFile } from './append-file.js';

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface ConsoleLogger extends Logger {
  /** Resolves when every line so far is in the file. */
  flush(): Promise<void>;
}

function stamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export function consoleLogger(
  configDir: string,
  level: LogLevel,
  stderr: NodeJS.WritableStream = process.stderr,
): ConsoleLogger {
  const file = new AppendFile(join(configDir, 'logs', 'console.log'), {
    maxBytes: 5 * 1024 * 1024,
    keep: 1,
    batchMs: 100,
  });
  // Said once when the file stops taking lines and once when it takes them again, not per
  // batch (a full disk would otherwise add a line to stderr for every request).
  let failing = false;
  const written = () => {
    if (!failing) return;
    failing = false;
    stderr.write('the log file can be written again\n');
  };
  const failed = (err: Error) => {
    if (failing) return;
    failing = true;
    stderr.write(`cannot write the log file: ${err.message}\n`);
  };
  let pending: string[] = [];
  let scheduled = false;
  const flushStderr = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    stderr.write(text);
  };
  process.once('exit', flushStderr);
  const write = (lvl: LogLevel) => (msg: string) => {
    if (RANK[lvl] < RANK[level]) return;
    const now = new Date();
    pending.push(`${stamp(now)} ${lvl} ${msg}\n`);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flushStderr);
    }
    file.append(`[${now.toISOString()}] [${lvl}] ${msg}`).then(written, failed);
  };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    level,
    flush: async () => {
      flushStderr();
      await file.flush();
    },
  };
}
