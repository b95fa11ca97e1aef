// The core logs through this interface; the CLI and the Electron main adapt electron-log
// to it, so the core never loads a logging backend (or Electron) itself.
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
