// The proxy as the shells start it (startConfiguredProxy: control channel included), in this
// process, on a free loopback port, with what it logs kept for the test to read.
import { startConfiguredProxy } from '../../src/cli/start.js';
import { loadConfig } from '../../src/core/config/config.js';
import { silentLogger, type Logger } from '../../src/core/logger.js';
import { onCleanup, run } from './openssh.js';
import { CLI } from './proxy.js';

/** A log that keeps each info, warn and error line as `<level> <message>`. */
export function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (level: string) => (m: string) => void lines.push(`${level} ${m}`);
  return { ...silentLogger, lines, info: push('info'), warn: push('warn'), error: push('error') };
}

/** Started with `env` over a loopback address on port 0; closed at cleanup. */
export async function startShellProxy(env: Record<string, string>) {
  const log = recordingLog();
  const config = loadConfig({ env: { SSH_AGENT_PROXY_ADDR: '127.0.0.1:0', ...env } });
  let controlOff: string | undefined;
  const proxy = await startConfiguredProxy(config, log, undefined, (why) => (controlOff = why));
  onCleanup(() => proxy.close(100));
  // What the tray would be told when the control channel is off (see start.ts).
  return { proxy, log, url: proxy.url(), controlOff: () => controlOff };
}

/** `ssh-agent-proxy --config-dir CONFIGDIR ARGS` as a second process, with HOME at `home`. */
export const cliIn = (home: string, configDir: string, ...args: string[]) =>
  run(process.execPath, [CLI, '--config-dir', configDir, ...args], {
    env: { PATH: process.env.PATH, HOME: home },
    timeoutMs: 20_000,
  });
