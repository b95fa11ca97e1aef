// Writing settings.json (the tray's settings view): each value is validated with the same
// parser start-up uses, merged into the file, and written atomically with mode 0600.
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConfigError,
  fileValue,
  readSettingsFile,
  SETTINGS,
  SETTINGS_FILE,
  type Settings,
} from './config.js';

export type SettingsValues = Partial<
  Record<keyof Settings, string | number | boolean | string[] | null>
>;

/** Validate `patch` and return the parsed values; throws ConfigError naming the setting. */
export function parseSettingsPatch(patch: SettingsValues): Partial<Settings> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch)) {
    const spec = SETTINGS.find((s) => s.key === key);
    if (!spec) throw new ConfigError(`${SETTINGS_FILE} "${key}"`, 'unknown setting');
    try {
      out[key] = spec.parse(value === null ? spec.default : fileValue(value));
    } catch (err) {
      throw new ConfigError(`${SETTINGS_FILE} "${key}"`, (err as Error).message);
    }
  }
  return out as Partial<Settings>;
}

export function writeSettings(configDir: string, patch: SettingsValues): void {
  parseSettingsPatch(patch);
  const merged = readSettingsFile(configDir);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete merged[k];
    else merged[k] = v;
  }
  mkdirSync(configDir, { recursive: true, mode: 0o700 });
  const file = join(configDir, SETTINGS_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(merged, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
