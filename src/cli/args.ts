// Command line: `--console` plus one flag per setting (see core/config.ts SETTINGS).
import { parseArgs } from 'node:util';
import { SETTINGS } from '../core/config.js';

export interface ParsedArgs {
  command: 'console' | 'help' | 'version';
  flags: Record<string, string>;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean' }> = {
    console: { type: 'boolean' },
    help: { type: 'boolean' },
    version: { type: 'boolean' },
    'config-dir': { type: 'string' },
  };
  for (const s of SETTINGS) options[s.flag] = { type: 'string' };
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 0) throw new UsageError(`unknown command "${positionals[0]}"`);
  const flags: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) if (typeof v === 'string') flags[k] = v;
  const command = values.help ? 'help' : values.version ? 'version' : 'console';
  return { command, flags };
}

export function usage(version: string): string {
  const rows = SETTINGS.map(
    (s) => `  --${s.flag.padEnd(15)} ${s.env} (default: ${s.default || 'none'})`,
  );
  return [
    `ssh-agent-proxy ${version} — sign git commits in sandboxes with keys in the host's SSH agent`,
    '',
    'Usage:',
    '  ssh-agent-proxy --console [options]   run the proxy headless, logging to stderr',
    '  ssh-agent-proxy --help | --version',
    '',
    'Options (each also an environment variable and a settings.json key):',
    `  --${'config-dir'.padEnd(15)} SSH_AGENT_PROXY_CONFIG_DIR`,
    ...rows,
    '',
    'Exit codes: 0 stopped cleanly, 1 could not start, 2 invalid setting or usage.',
  ].join('\n');
}
