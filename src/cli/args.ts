// Command line: `--console` plus one flag per setting (see core/config.ts SETTINGS), and
// the `token` and `audit` subcommands.
import { parseArgs } from 'node:util';
import { SETTINGS } from '../core/config/config.js';
import { RUNTIMES, type Runtime } from '../core/config/container-setup.js';

export type ParsedArgs =
  | { command: 'console' | 'help' | 'version'; flags: Record<string, string> }
  | {
      command: 'token-create';
      flags: Record<string, string>;
      name: string;
      keys: string[];
      namespaces: string[];
      gitOnly: boolean;
      expires?: string;
    }
  | { command: 'token-list'; flags: Record<string, string> }
  | { command: 'token-revoke'; flags: Record<string, string>; name: string }
  | { command: 'audit'; flags: Record<string, string>; tail: number }
  | { command: 'setup'; flags: Record<string, string>; runtime: Runtime; token: string | null };

export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

function parse(
  argv: readonly string[],
  options: Options,
): { values: Record<string, unknown>; positionals: string[] } {
  try {
    return parseArgs({
      args: [...argv],
      options: { 'config-dir': { type: 'string' }, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function configDirFlag(values: Record<string, unknown>): Record<string, string> {
  return typeof values['config-dir'] === 'string' ? { 'config-dir': values['config-dir'] } : {};
}

export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  const [first, second] = argv;
  if (first === 'token') {
    if (second === 'create') {
      const { values, positionals } = parse(argv.slice(2), {
        key: { type: 'string', multiple: true },
        namespace: { type: 'string', multiple: true },
        'git-only': { type: 'boolean' },
        expires: { type: 'string' },
      });
      if (positionals.length !== 1)
        throw new UsageError(
          'usage: token create NAME [--key FP]… [--namespace NS]… [--git-only] [--expires DURATION]',
        );
      return {
        command: 'token-create',
        flags: configDirFlag(values),
        name: positionals[0] as string,
        keys: (values.key as string[] | undefined) ?? [],
        namespaces: (values.namespace as string[] | undefined) ?? [],
        gitOnly: values['git-only'] === true,
        ...(typeof values.expires === 'string' ? { expires: values.expires } : {}),
      };
    }
    if (second === 'list') {
      const { values, positionals } = parse(argv.slice(2), {});
      if (positionals.length) throw new UsageError('usage: token list');
      return { command: 'token-list', flags: configDirFlag(values) };
    }
    if (second === 'revoke') {
      const { values, positionals } = parse(argv.slice(2), {});
      if (positionals.length !== 1) throw new UsageError('usage: token revoke NAME');
      return {
        command: 'token-revoke',
        flags: configDirFlag(values),
        name: positionals[0] as string,
      };
    }
    throw new UsageError('usage: token create|list|revoke …');
  }
  if (first === 'audit') {
    const { values, positionals } = parse(argv.slice(1), { tail: { type: 'string' } });
    if (positionals.length) throw new UsageError('usage: audit [--tail N]');
    const tail = values.tail === undefined ? 20 : Number(values.tail);
    if (!Number.isInteger(tail) || tail < 1)
      throw new UsageError('--tail must be a positive whole number');
    return { command: 'audit', flags: configDirFlag(values), tail };
  }
  if (first === 'setup') {
    const { values, positionals } = parse(argv.slice(1), {
      runtime: { type: 'string' },
      token: { type: 'string' },
    });
    const runtime = (values.runtime ?? 'docker-desktop') as Runtime;
    if (positionals.length || !RUNTIMES.includes(runtime)) {
      throw new UsageError(`usage: setup [--runtime ${RUNTIMES.join('|')}] [--token NAME]`);
    }
    return {
      command: 'setup',
      flags: configDirFlag(values),
      runtime,
      token: typeof values.token === 'string' ? values.token : null,
    };
  }

  const options: Options = {
    console: { type: 'boolean' },
    help: { type: 'boolean' },
    version: { type: 'boolean' },
  };
  for (const s of SETTINGS) options[s.flag] = { type: 'string' };
  const { values, positionals } = parse(argv, options);
  if (positionals.length > 0) throw new UsageError(`unknown command "${positionals[0]}"`);
  const flags: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) if (typeof v === 'string') flags[k] = v;
  const command = values.help ? 'help' : values.version ? 'version' : 'console';
  return { command, flags };
}

export function usage(version: string): string {
  const rows = SETTINGS.map(
    (s) => `  --${s.flag.padEnd(23)} ${s.env} (default: ${s.default || 'none'})`,
  );
  return [
    `ssh-agent-proxy ${version} — sign git commits in sandboxes with keys in the host's SSH agent`,
    '',
    'Usage:',
    '  ssh-agent-proxy --console [options]   run the proxy headless; approve requests on this terminal',
    '  ssh-agent-proxy token create NAME [--key FP]… [--namespace NS]… [--git-only] [--expires 30d]',
    '  ssh-agent-proxy token list',
    '  ssh-agent-proxy token revoke NAME',
    '  ssh-agent-proxy audit [--tail N]      the newest audit records, readable',
    '  ssh-agent-proxy setup [--runtime docker-desktop|docker-linux|podman|wsl2] [--token NAME]',
    '                                        the lines to paste into a sandbox',
    '  ssh-agent-proxy --help | --version',
    '',
    'Options (each also an environment variable and a settings.json key):',
    `  --${'config-dir'.padEnd(23)} SSH_AGENT_PROXY_CONFIG_DIR`,
    ...rows,
    '',
    'Exit codes: 0 stopped cleanly, 1 could not start or the command failed, 2 invalid setting or usage.',
  ].join('\n');
}
