// `ssh-agent-proxy --console`: the proxy headless, in plain Node or under Electron.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../core/config.js';
import { ed25519Impl } from '../core/ed25519.js';
import { ListenError } from '../core/listener.js';
import { startProxy } from '../core/proxy.js';
import pkg from '../../package.json';
import { parseCommandLine, usage, UsageError } from './args.js';
import { consoleLogger } from './console-log.js';

/** The shim ships beside the app: scripts/ in a checkout, resources/ in a packaged app. */
export function findShim(): string {
  const resources = (process as { resourcesPath?: string }).resourcesPath;
  const candidates = [
    join(__dirname, '..', '..', 'scripts', 'ssh-agent-proxy-sign'),
    ...(resources ? [join(resources, 'ssh-agent-proxy-sign')] : []),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`the container shim is missing (looked in ${candidates.join(', ')})`);
  return found;
}

export async function runCli(argv: readonly string[]): Promise<number> {
  let args;
  try {
    args = parseCommandLine(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`ssh-agent-proxy: ${err.message}\nTry --help.\n`);
    return 2;
  }
  if (args.command === 'help') {
    process.stdout.write(`${usage(pkg.version)}\n`);
    return 0;
  }
  if (args.command === 'version') {
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }

  let config;
  try {
    config = loadConfig({ env: process.env, flags: args.flags });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`ssh-agent-proxy: ${err.message}\n`);
    return 2;
  }
  const log = consoleLogger(config.configDir, config.logLevel);
  let proxy;
  try {
    proxy = await startProxy({ config, log, shimText: readFileSync(findShim(), 'utf8') });
  } catch (err) {
    if (!(err instanceof ListenError)) throw err;
    log.error(err.message);
    return 1;
  }
  log.info(
    config.agent
      ? `agent: ${config.agent.path} (${config.agent.source})`
      : 'agent: none found — set SSH_AGENT_PROXY_UPSTREAM or SSH_AUTH_SOCK',
  );
  if (config.pinnedFingerprint) log.info(`pinned key: ${config.pinnedFingerprint}`);
  log.debug(`ed25519 verification: ${ed25519Impl()}`);
  log.warn(
    'UNATTENDED: console mode signs every request without asking; anything that can reach this port can sign',
  );
  // Last, so whoever waits for this line has seen everything above it.
  log.info(
    `ssh-agent-proxy ${pkg.version} listening on ${proxy.url()} (namespace "${config.namespace}")`,
  );

  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        log.warn(`${signal} again: exiting now`);
        return resolve(130);
      }
      stopping = true;
      log.info(`${signal}: shutting down (letting in-flight requests finish)`);
      void proxy.close(5_000).then(() => {
        log.info('stopped');
        resolve(0);
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}

if (require.main === module) {
  runCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(
        `ssh-agent-proxy: unexpected error: ${(err as Error).stack ?? String(err)}\n`,
      );
      process.exit(1);
    },
  );
}
