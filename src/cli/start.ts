// Start the proxy the way both shells do (the CLI's --console and the tray): the shim it
// serves, and the audit log in the config dir (whose newest records seed recent activity).
// A config dir that cannot be written stops start-up (ConfigError): no proxy runs without
// its audit log.
import { readFileSync } from 'node:fs';
import type { Config } from '../core/config/config.js';
import type { Logger } from '../core/logger.js';
import { startProxy, type RunningProxy } from '../core/proxy.js';
import { readAudit } from '../core/approval/audit.js';
import {
  controlSocketPath,
  listenControl,
  type ControlChannel,
} from '../core/control/control-socket.js';
import {
  controlKeyPath,
  newSecret,
  removeControlKey,
  writeControlKey,
} from '../core/control/control-key.js';
import { auditFiles, auditFileSink, refusalFileSink, refusalFiles } from '../log/audit-file.js';
import { ensureWritableConfigDir } from './config-dir.js';
import { findShim } from './find-shim.js';

/** The files a running proxy appends to, relative to the config dir. */
export const WRITTEN_AT_START = [
  'logs/audit.log',
  'logs/refusals.log',
  'logs/console.log',
] as const;

export async function startConfiguredProxy(
  config: Config,
  log: Logger,
  configSetting = 'SSH_AGENT_PROXY_CONFIG_DIR',
  /** Told why, when the control channel cannot run (beside the log line). */
  onControlOff: (why: string) => void = () => {},
): Promise<RunningProxy> {
  ensureWritableConfigDir(config.configDir, configSetting, WRITTEN_AT_START);
  const proxy = await startProxy({
    config,
    log,
    shimText: readFileSync(findShim(), 'utf8'),
    audit: auditFileSink(config.configDir, {
      maxBytes: config.auditMaxBytes,
      keep: config.auditKeep,
      sync: config.auditSync,
    }),
    refusals: refusalFileSink(config.configDir),
    history: readAudit(
      [...auditFiles(config.configDir, config.auditKeep), ...refusalFiles(config.configDir)],
      200,
    ),
  });
  return withControlChannel(proxy, log, onControlOff);
}

/**
 * The control channel beside the proxy (grants, pause and resume from another terminal),
 * closed with it. When it cannot listen, the proxy runs without it and says why: the
 * channel only takes permission away, so running without it is not less safe.
 */
async function withControlChannel(
  proxy: RunningProxy,
  log: Logger,
  onControlOff: (why: string) => void,
): Promise<RunningProxy> {
  const configDir = proxy.config.configDir;
  const path = controlSocketPath(configDir);
  // A new secret each start; written only once this proxy holds the channel, so a second
  // proxy on the same config dir never replaces the key of the first.
  const secret = newSecret();
  let channel: ControlChannel;
  try {
    channel = await listenControl(path, proxy.broker, log, {
      secret,
      proxy: { url: proxy.url(), pid: process.pid },
    });
  } catch (err) {
    const why = `${(err as Error).message}; ssh-agent-proxy grants/pause/resume cannot reach THIS proxy (pid ${process.pid}, ${proxy.url()}) — they reach the proxy that holds the channel, and name it`;
    log.warn(`control channel off: ${why}`);
    onControlOff(why);
    return proxy;
  }
  try {
    writeControlKey(configDir, secret);
  } catch (err) {
    channel.close();
    const why = `cannot write ${controlKeyPath(configDir)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); ssh-agent-proxy grants/pause/resume cannot reach this proxy`;
    log.warn(`control channel off: ${why}`);
    onControlOff(why);
    return proxy;
  }
  log.info(`control channel at ${path} (ssh-agent-proxy grants | pause | resume)`);
  return {
    ...proxy,
    close: async (graceMs?: number) => {
      channel.close();
      removeControlKey(configDir, secret);
      await proxy.close(graceMs);
    },
  };
}
