// The core logs through this interface; the CLI and the Electron main adapt electron-log
// to it, so the core never loads a logging backend (or Electron) itself.
import { displayText } from './display-text.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** The lowest level written, when known: lines below it need not even be built. */
  readonly level?: LogLevel;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Whether `log` writes lines of `level` (true when it does not say). */
export function logs(log: Logger, level: LogLevel): boolean {
  return log.level === undefined || RANK[level] >= RANK[log.level];
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** Longest log line kept; a stack trace fits, a pasted payload does not. */
export const LOG_LINE_MAX = 4000;

/**
 * A logger whose every message is one clean line (display-text.ts): text from clients,
 * keys or errors can neither forge a second log line nor drive the terminal that
 * shows the log.
 */
export function cleanLogger(inner: Logger): Logger {
  const clean = (msg: string) => displayText(String(msg), LOG_LINE_MAX);
  // Lines the inner logger would drop are not cleaned first (the hot path logs at info).
  const at = (level: LogLevel) =>
    logs(inner, level) ? (m: string) => inner[level](clean(m)) : () => {};
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    ...(inner.level ? { level: inner.level } : {}),
  };
}
