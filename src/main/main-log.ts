// The main process log through electron-log's Electron entry: <config dir>/logs/main.log.
import { join } from 'node:path';
import electronLog from 'electron-log/main';
import type { Logger } from '../core/logger.js';

export function mainLogger(configDir: string, level: 'debug' | 'info' | 'warn' | 'error'): Logger {
  const log = electronLog.create({ logId: 'ssh-agent-proxy-main' });
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
