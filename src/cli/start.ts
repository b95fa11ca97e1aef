// Start the proxy the way both shells do (the CLI's --console and the tray): the shim it
// serves, and the audit log in the config dir (whose newest records seed recent activity).
import { readFileSync } from 'node:fs';
import type { Config } from '../core/config/config.js';
import type { Logger } from '../core/logger.js';
import { startProxy, type RunningProxy } from '../core/proxy.js';
import { readAudit } from '../core/approval/audit.js';
import { auditFiles, auditFileSink } from '../log/audit-file.js';
import { findShim } from './find-shim.js';

export function startConfiguredProxy(config: Config, log: Logger): Promise<RunningProxy> {
  return startProxy({
    config,
    log,
    shimText: readFileSync(findShim(), 'utf8'),
    audit: auditFileSink(config.configDir, {
      maxBytes: config.auditMaxBytes,
      keep: config.auditKeep,
      onError: (err) => log.error(`cannot write the audit log: ${err.message}`),
    }),
    history: readAudit(auditFiles(config.configDir, config.auditKeep), 200),
  });
}
