// The main process log: <config dir>/logs/main.log. electron-log's Node entry, not its
// Electron one: `electron-log/main` registers its own `__ELECTRON_LOG__` IPC channel on
// ipcMain as soon as it is loaded (for renderer logging we do not use), with no sender check —
// the one IPC door our registerIpc would not guard. The Node entry registers nothing, sends
// nothing to windows, and writes the same file.
import { join } from 'node:path';
import electronLog from 'electron-log/node';
import type { Logger } from '../core/logger.js';

export function mainLogger(configDir: string, level: 'debug' | 'info' | 'warn' | 'error'): Logger {
  const log = electronLog.create({ logId: 'ssh-agent-proxy-main' });
  // Named here, so electron-log never has to find a package.json to name the app.
  log.transports.file.setAppName('ssh-agent-proxy');
  log.transports.file.level = level;
  log.transports.file.resolvePathFn = () => join(configDir, 'logs', 'main.log');
  log.transports.file.maxSize = 5 * 1024 * 1024;
  log.transports.file.writeOptions = { flag: 'a', mode: 0o600, encoding: 'utf8' };
  log.transports.console.level = process.stdout.isTTY ? level : false;
  return {
    debug: (m) => log.debug(m),
    info: (m) => log.info(m),
    warn: (m) => log.warn(m),
    error: (m) => log.error(m),
  };
}
