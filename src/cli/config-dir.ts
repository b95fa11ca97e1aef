// Before anything writes to the config dir, make sure it can: create it one level at a time
// (Node's recursive mkdirSync never returns on some paths, e.g. under /proc) and open the
// log files for appending. A dir that cannot be written stops start-up with one line naming
// the setting, instead of a stack trace, a spin, or a proxy running without its audit log.
import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../core/config/config.js';

const reason = (err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}${e.syscall ? ` (${e.syscall})` : ''}` : String(e.message);
};

function makeDir(dir: string, setting: string): void {
  let st;
  try {
    st = statSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new ConfigError(setting, `cannot use ${dir}: ${reason(err)}`);
  }
  if (st) {
    if (!st.isDirectory()) throw new ConfigError(setting, `${dir} is not a folder`);
    return;
  }
  const parent = dirname(dir);
  if (parent !== dir) makeDir(parent, setting);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new ConfigError(setting, `cannot create the folder ${dir}: ${reason(err)}`);
  }
}

/**
 * Throws ConfigError(setting, …) unless the config dir exists or can be created and the
 * given files in it (relative paths) can be opened for appending (created 0600 if missing).
 */
export function ensureWritableConfigDir(
  configDir: string,
  setting: string,
  files: readonly string[],
): void {
  const root = resolve(configDir);
  makeDir(root, setting);
  for (const f of files) {
    const path = join(root, f);
    makeDir(dirname(path), setting);
    try {
      closeSync(openSync(path, 'a', 0o600));
    } catch (err) {
      throw new ConfigError(setting, `cannot write ${path}: ${reason(err)}`);
    }
  }
}

/** Which setting chose the config dir, to name it in an error. */
export function configDirSetting(flags: Readonly<Record<string, string>>): string {
  return flags['config-dir'] ? '--config-dir' : 'SSH_AGENT_PROXY_CONFIG_DIR';
}
