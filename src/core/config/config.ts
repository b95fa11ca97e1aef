// Settings: defaults < settings file (JSON in the config dir) < environment < flags. The
// settings themselves are the rows of settings-spec.ts.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { defaultAgent, type PlatformInfo } from '../agent/agent-dialer.js';
import { fingerprint, parseAuthorizedKey } from '../ssh/keys.js';
import { ConfigError, SETTINGS, type Settings } from './settings-spec.js';

export { ConfigError, SETTINGS, type Settings } from './settings-spec.js';

export const CONFIG_DIR_ENV = 'SSH_AGENT_PROXY_CONFIG_DIR';
export const SETTINGS_FILE = 'settings.json';

export function defaultConfigDir(p: PlatformInfo): string {
  if (p.platform === 'win32')
    return join(p.env.APPDATA ?? join(p.home, 'AppData', 'Roaming'), 'ssh-agent-proxy');
  if (p.platform === 'darwin')
    return join(p.home, 'Library', 'Application Support', 'ssh-agent-proxy');
  return join(p.env.XDG_CONFIG_HOME || join(p.home, '.config'), 'ssh-agent-proxy');
}

export interface Config extends Settings {
  configDir: string;
  /** The agent to dial, and how it was chosen (a setting, SSH_AUTH_SOCK, a well-known socket). */
  agent: { path: string; source: string } | null;
  /** Fingerprint of the pinned key, if any. */
  pinnedFingerprint: string | null;
  /** Which layer each setting came from: `default`, `settings.json`, an env var or a flag. */
  origin: Record<keyof Settings, string>;
}

export interface ConfigInputs {
  env: Readonly<Record<string, string | undefined>>;
  flags?: Readonly<Record<string, string | undefined>>;
  platform?: NodeJS.Platform;
  home?: string;
  uid?: number;
}

export function readSettingsFile(dir: string): Record<string, unknown> {
  const file = join(dir, SETTINGS_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError(file, `cannot read (${(err as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, `is not valid JSON (${(err as Error).message})`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(file, 'must hold a JSON object');
  }
  return parsed as Record<string, unknown>;
}

export function fileValue(v: unknown): string {
  if (Array.isArray(v)) return v.map(String).join(',');
  return String(v);
}

export function loadConfig(inputs: ConfigInputs): Config {
  const p: PlatformInfo = {
    platform: inputs.platform ?? process.platform,
    env: inputs.env,
    home: inputs.home ?? homedir(),
    uid: inputs.uid ?? process.getuid?.(),
  };
  const flags = inputs.flags ?? {};
  const configDir = flags['config-dir'] || inputs.env[CONFIG_DIR_ENV] || defaultConfigDir(p);
  const file = readSettingsFile(configDir);
  const known = new Set<string>(SETTINGS.map((s) => s.key));
  for (const k of Object.keys(file)) {
    if (!known.has(k)) throw new ConfigError(`${SETTINGS_FILE} "${k}"`, 'unknown setting');
  }

  const values: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  for (const spec of SETTINGS) {
    let raw = spec.default;
    let from = 'default';
    if (file[spec.key] !== undefined && file[spec.key] !== null) {
      raw = fileValue(file[spec.key]);
      from = `${SETTINGS_FILE} "${spec.key}"`;
    }
    const env = inputs.env[spec.env];
    if (env !== undefined && env !== '') {
      raw = env;
      from = spec.env;
    }
    const flag = flags[spec.flag];
    if (flag !== undefined) {
      raw = flag;
      from = `--${spec.flag}`;
    }
    try {
      values[spec.key] = spec.parse(raw);
    } catch (err) {
      throw new ConfigError(from === 'default' ? spec.env : from, (err as Error).message);
    }
    origin[spec.key] = from;
  }
  const s = values as unknown as Settings;
  if (s.maxBodyInFlight < s.maxBody) {
    throw new ConfigError(
      origin.maxBodyInFlight === 'default'
        ? 'SSH_AGENT_PROXY_MAX_BODY_IN_FLIGHT'
        : (origin.maxBodyInFlight as string),
      `must be at least SSH_AGENT_PROXY_MAX_BODY (${s.maxBody} bytes)`,
    );
  }
  if (s.namespaces.length === 0) s.namespaces = [s.namespace];
  else if (!s.namespaces.includes(s.namespace)) s.namespaces.unshift(s.namespace);

  let pinnedFingerprint: string | null = null;
  const pinLine =
    s.pubkey ?? (s.pubkeyFile ? readPinFile(s.pubkeyFile, origin.pubkeyFile as string) : null);
  if (pinLine) pinnedFingerprint = fingerprint(parseAuthorizedKey(pinLine).key.blob);

  const agent = s.upstream
    ? { path: s.upstream, source: origin.upstream as string }
    : (() => {
        const found = defaultAgent(p);
        return found ? { path: found.path, source: found.name } : null;
      })();

  return { ...s, configDir, agent, pinnedFingerprint, origin: origin as Config['origin'] };
}

function readPinFile(path: string, from: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      from,
      `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  const line = text.split('\n').find((l) => l.trim() && !l.trim().startsWith('#'));
  try {
    if (!line) throw new Error('the file is empty');
    parseAuthorizedKey(line);
    return line;
  } catch (err) {
    throw new ConfigError(
      from,
      `${path} does not hold a public key line (${(err as Error).message})`,
    );
  }
}
