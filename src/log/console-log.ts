// electron-log's Node entry adapted to the core's Logger: terminal lines on stderr (stdout
// stays clean for scripts) and a file in the config dir's logs folder.
import { join } from 'node:path';
import electronLog from 'electron-log/node';
import type { Logger } from '../core/logger.js';

export function consoleLogger(
  configDir: string,
  level: 'debug' | 'info' | 'warn' | 'error',
): Logger {
  const log = electronLog.create({ logId: 'ssh-agent-proxy-console' });
  log.transports.console.level = level;
  log.transports.console.format = '{h}:{i}:{s}.{ms} {level} {text}';
  log.transports.console.writeFn = ({ message }) => {
    process.stderr.write(`${message.data.map(String).join(' ')}\n`);
  };
  log.transports.file.level = level;
  log.transports.file.resolvePathFn = () => join(configDir, 'logs', 'console.log');
  log.transports.file.maxSize = 5 * 1024 * 1024;
  log.transports.file.writeOptions = { flag: 'a', mode: 0o600, encoding: 'utf8' };
  return {
    debug: (m) => log.debug(m),
    info: (m) => log.info(m),
    warn: (m) => log.warn(m),
    error: (m) => log.error(m),
  };
}
