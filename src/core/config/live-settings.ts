// Settings changed at run time (the tray's settings view): persisted to settings.json and
// applied to the running proxy where that is safe; the rest waits for a restart.
import { homedir } from 'node:os';
import { defaultAgent } from '../agent/agent-dialer.js';
import type { Config, Settings } from './config.js';
import { fingerprint, parseAuthorizedKey } from '../ssh/keys.js';
import { parseSettingsPatch, writeSettings, type SettingsValues } from './settings-file.js';

export interface ApplyResult {
  applied: (keyof Settings)[];
  restartNeeded: (keyof Settings)[];
  /** Keys whose persisted value an environment variable or flag overrides at the next start. */
  shadowed: Partial<Record<keyof Settings, string>>;
}

const LIVE = new Set<keyof Settings>([
  'approval',
  'approvalTimeout',
  'grantMinutes',
  'upstream',
  'pubkey',
  'namespaces',
  'allowedHosts',
  'denyWhenLocked',
]);

/**
 * What `key` will be on the running proxy once `parsed` is applied: the patch's value for a
 * live setting, else the value in force now. A setting that waits for a restart is not in
 * force by being saved (and at the restart an environment variable or flag may shadow it),
 * so a check judged on the patch alone could pass a state the proxy would not start in.
 */
function inForceAfter<K extends keyof Settings>(
  config: Config,
  parsed: Partial<Settings>,
  key: K,
): Settings[K] {
  const next = parsed[key];
  return LIVE.has(key) && next !== undefined ? (next as Settings[K]) : config[key];
}

/** What of the approval gate a settings change reaches (the broker has these). */
export interface ApprovalTuning {
  setPolicy(policy: Settings['approval']): void;
  setTimeouts(t: { timeoutMs?: number; grantMs?: number }): void;
}

export function applySettings(
  config: Config,
  broker: ApprovalTuning,
  onHostsChanged: () => void,
  values: SettingsValues,
  /**
   * A refusal of the change as a whole (throws ConfigError), before anything is written. It
   * is given the values the running proxy will hold once the change is applied.
   */
  check: (next: Pick<Settings, 'approval' | 'allowAnyLocalProcess'>) => void = () => {},
): ApplyResult {
  const parsed = parseSettingsPatch(values); // throws ConfigError naming the setting
  check({
    approval: inForceAfter(config, parsed, 'approval'),
    allowAnyLocalProcess: inForceAfter(config, parsed, 'allowAnyLocalProcess'),
  });
  writeSettings(config.configDir, values);
  const result: ApplyResult = { applied: [], restartNeeded: [], shadowed: {} };
  const mutable = config as unknown as Record<string, unknown>;
  for (const key of Object.keys(parsed) as (keyof Settings)[]) {
    const origin = config.origin[key];
    if (origin.startsWith('SSH_AGENT_PROXY_') || origin.startsWith('--'))
      result.shadowed[key] = origin;
    if (!LIVE.has(key)) {
      result.restartNeeded.push(key);
      continue;
    }
    mutable[key] = parsed[key];
    result.applied.push(key);
  }
  if ('approval' in parsed) broker.setPolicy(config.approval);
  if ('approvalTimeout' in parsed || 'grantMinutes' in parsed) {
    broker.setTimeouts({
      timeoutMs: config.approvalTimeout,
      grantMs: config.grantMinutes * 60_000,
    });
  }
  if ('upstream' in parsed) {
    const found = config.upstream
      ? { path: config.upstream, source: 'settings' }
      : (() => {
          const d = defaultAgent({ platform: process.platform, env: process.env, home: homedir() });
          return d ? { path: d.path, source: d.name } : null;
        })();
    config.agent = found;
  }
  if ('pubkey' in parsed) {
    config.pinnedFingerprint = config.pubkey
      ? fingerprint(parseAuthorizedKey(config.pubkey).key.blob)
      : null;
  }
  if ('namespaces' in parsed) {
    const ns = config.namespaces.length ? config.namespaces : [config.namespace];
    config.namespaces = ns.includes(config.namespace) ? ns : [config.namespace, ...ns];
  }
  if ('allowedHosts' in parsed) onHostsChanged();
  return result;
}
