// The core logs through this interface; the CLI and the Electron main adapt electron-log
// to it, so the core never loads a logging backend (or Electron) itself.
import { displayText } from './display-text.js';

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
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
  return {
    debug: (m) => inner.debug(clean(m)),
    info: (m) => inner.info(clean(m)),
    warn: (m) => inner.warn(clean(m)),
    error: (m) => inner.error(clean(m)),
  };
}
