// Command line: `--console` plus one flag per setting (see core/settings-spec.ts SETTINGS),
// and the `token`, `audit` and `setup` subcommands. Every command takes the setting flags
// and `--config-dir`, before or after its name (`--config-dir X token list`); `--help`
// after a command prints that command's usage. Our own parser, not node:util's, so a
// mistake is answered with one line that names the nearest valid flag.
import { SETTINGS } from '../core/config/config.js';
import { RUNTIMES, type Runtime } from '../core/config/container-setup.js';

export type CommandName =
  | 'console'
  | 'token-create'
  | 'token-list'
  | 'token-revoke'
  | 'audit'
  | 'setup'
  | 'grants'
  | 'grants-revoke'
  | 'pause'
  | 'resume';

export type ParsedArgs =
  | { command: 'help'; topic: CommandName | 'token' | null; flags: Record<string, string> }
  | { command: 'console' | 'version'; flags: Record<string, string> }
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
  | { command: 'audit'; flags: Record<string, string>; tail: number; follow: boolean }
  | { command: 'setup'; flags: Record<string, string>; runtime: Runtime; token: string | null }
  | { command: 'grants' | 'pause' | 'resume'; flags: Record<string, string> }
  | { command: 'grants-revoke'; flags: Record<string, string>; id: string };

export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    /** The command whose `--help` to point at. */
    readonly topic: string | null = null,
  ) {
    super(message);
  }
}

interface OptionSpec {
  /** `optional`: takes the next argument as its value only when it is not a flag. */
  value: 'none' | 'required' | 'optional';
  multiple?: boolean;
}
type Options = Record<string, OptionSpec>;

const DEFAULT_TAIL = 20;

/** Accepted by every command: where the settings live, and every setting as a flag. */
function commonOptions(): Options {
  const o: Options = { 'config-dir': { value: 'required' }, help: { value: 'none' } };
  for (const s of SETTINGS) o[s.flag] = { value: 'required' };
  return o;
}

const COMMAND_OPTIONS: Record<CommandName, Options> = {
  console: { console: { value: 'none' }, version: { value: 'none' } },
  'token-create': {
    key: { value: 'required', multiple: true },
    namespace: { value: 'required', multiple: true },
    'git-only': { value: 'none' },
    expires: { value: 'required' },
  },
  'token-list': {},
  'token-revoke': {},
  audit: { tail: { value: 'optional' }, follow: { value: 'none' } },
  setup: { runtime: { value: 'required' }, token: { value: 'required' } },
  grants: {},
  'grants-revoke': {},
  pause: {},
  resume: {},
};

const TOKEN_VERBS = ['create', 'list', 'revoke'] as const;
/** The first word of every subcommand (the packaged app runs the CLI for these). */
export const COMMANDS = ['token', 'audit', 'setup', 'grants', 'pause', 'resume'] as const;

export const USAGE: Record<CommandName | 'token', string[]> = {
  console: [
    'ssh-agent-proxy --console [options]   run the proxy headless; approve requests on this terminal',
  ],
  token: [
    'ssh-agent-proxy token create NAME [--key FP]… [--namespace NS]… [--git-only] [--expires 30d]',
    'ssh-agent-proxy token list',
    'ssh-agent-proxy token revoke NAME',
  ],
  'token-create': [
    'ssh-agent-proxy token create NAME [--key FP]… [--namespace NS]… [--git-only] [--expires DURATION]',
    '',
    'Creates a client token for one sandbox and prints it once, alone on the last line of stdout.',
    '  --key SHA256:…     only this key may be used (repeat for more; default: any allowed key)',
    '  --namespace NS     only this signing namespace (repeat for more; default: any allowed)',
    '  --git-only         only git commits, tags and push certificates',
    '  --expires 30d      expire after a duration: 90m, 12h, 30d, 2w (default: never)',
  ],
  'token-list': ['ssh-agent-proxy token list', '', 'Lists every token: state, creation, limits.'],
  'token-revoke': [
    'ssh-agent-proxy token revoke NAME',
    '',
    'Revokes a token; a running proxy drops its grants and pending prompts at once.',
  ],
  audit: [
    'ssh-agent-proxy audit [--tail [N]] [--follow]',
    '',
    'Prints the newest audit records (one line per /sign request), readable.',
    `  --tail [N]   how many records (default ${DEFAULT_TAIL})`,
    '  --follow     then keep printing new records as they are written (Ctrl-C stops)',
  ],
  setup: [
    `ssh-agent-proxy setup [--runtime ${RUNTIMES.join('|')}] [--token NAME] [--addr HOST:PORT]`,
    '',
    'Prints the lines to paste into a sandbox for this proxy, for one container runtime.',
    '  --runtime R    the container runtime (default docker-desktop)',
    '  --token NAME   the client token this sandbox uses (must exist; see token list)',
    '  --addr H:P     the address the proxy listens on (default: the configured one)',
  ],
  grants: [
    'ssh-agent-proxy grants',
    '',
    "Lists the running proxy's live grants (over its control socket in the config dir).",
    'Grants live in memory only: they end when the proxy stops.',
  ],
  'grants-revoke': [
    'ssh-agent-proxy grants revoke ID',
    '',
    'Revokes one grant of the running proxy; ID is its id as listed (the first 4+ characters do).',
  ],
  pause: [
    'ssh-agent-proxy pause',
    '',
    'Pauses signing on the running proxy: pending requests are denied, new ones refused (503).',
  ],
  resume: ['ssh-agent-proxy resume', '', 'Resumes signing on the running proxy.'],
};

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(
        (prev[j] as number) + 1,
        (cur[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    prev = cur;
  }
  return prev[b.length] as number;
}

export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    // A prefix of a valid name (`--runt`) is nearer than any edit distance says.
    const d = c.startsWith(word) ? 0.5 : distance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

interface Scan {
  values: Map<string, string[]>;
  positionals: string[];
}

/** Split argv into flags (by `options`) and positionals. */
function scan(argv: readonly string[], options: Options, topic: string | null): Scan {
  const values = new Map<string, string[]>();
  const positionals: string[] = [];
  const set = (name: string, v: string) => {
    const spec = options[name]!;
    if (values.has(name) && !spec.multiple && spec.value !== 'none')
      throw new UsageError(`--${name} is given twice`, topic);
    values.set(name, [...(spec.multiple ? (values.get(name) ?? []) : []), v]);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h') {
      set('help', 'true');
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const m = /^--([^=]+)(?:=(.*))?$/s.exec(arg);
    const name = m?.[1];
    const spec = name !== undefined ? options[name] : undefined;
    if (!m || name === undefined || !spec) {
      const near = nearest(name ?? arg.replace(/^-+/, ''), Object.keys(options));
      throw new UsageError(
        `unknown option ${arg.replace(/=.*$/s, '')}${near ? `; did you mean --${near}?` : ''}`,
        topic,
      );
    }
    const inline = m[2];
    if (spec.value === 'none') {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`, topic);
      set(name, 'true');
      continue;
    }
    if (inline !== undefined) {
      set(name, inline);
      continue;
    }
    const next = argv[i + 1];
    const nextIsValue = next !== undefined && !(next.startsWith('-') && next !== '-');
    if (nextIsValue) {
      set(name, next);
      i++;
    } else if (spec.value === 'optional') set(name, '');
    else throw new UsageError(`--${name} needs a value`, topic);
  }
  return { values, positionals };
}

/** Which command argv names. Settings flags may come first, so their values are skipped. */
function commandOf(argv: readonly string[]): { command: CommandName | 'token'; words: number } {
  const everything: Options = { ...commonOptions(), ...COMMAND_OPTIONS.console };
  const positionals: string[] = [];
  for (let i = 0; i < argv.length && positionals.length < 2; i++) {
    const arg = argv[i] as string;
    if (arg === '--') break;
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const name = arg.replace(/^--?/, '').replace(/=.*$/s, '');
    const spec = arg === '-h' ? everything.help : everything[name];
    // Before the command's name only the global flags make sense.
    if (!spec && positionals.length === 0) scan([arg], everything, null);
    if (!arg.includes('=') && spec?.value === 'required') i++;
  }
  const [first, second] = positionals;
  if (first === undefined) return { command: 'console', words: 0 };
  if (first === 'token') {
    if (second === undefined) return { command: 'token', words: 1 };
    if ((TOKEN_VERBS as readonly string[]).includes(second))
      return { command: `token-${second}` as CommandName, words: 2 };
    const near = nearest(second, TOKEN_VERBS);
    throw new UsageError(
      `unknown token command "${second}"${near ? `; did you mean "token ${near}"?` : ''}`,
      'token',
    );
  }
  if (first === 'audit' || first === 'setup') return { command: first, words: 1 };
  if (first === 'pause' || first === 'resume') return { command: first, words: 1 };
  if (first === 'grants') {
    if (second === 'revoke') return { command: 'grants-revoke', words: 2 };
    if (second === 'list') return { command: 'grants', words: 2 };
    return { command: 'grants', words: 1 };
  }
  const near = nearest(first, COMMANDS);
  throw new UsageError(`unknown command "${first}"${near ? `; did you mean "${near}"?` : ''}`);
}

const one = (s: Scan, name: string): string | undefined => s.values.get(name)?.[0];

function flagsOf(s: Scan): Record<string, string> {
  const flags: Record<string, string> = {};
  const common = commonOptions();
  for (const [k, v] of s.values)
    if (k !== 'help' && common[k] && v[0] !== undefined) flags[k] = v[0];
  return flags;
}

export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  const { command, words } = commandOf(argv);
  const topic = command === 'console' ? null : command;
  const options: Options = {
    ...commonOptions(),
    ...(command === 'token' ? {} : COMMAND_OPTIONS[command]),
  };
  const s = scan(argv, options, topic);
  const args = s.positionals.slice(words);
  if (s.values.has('help')) {
    return { command: 'help', topic, flags: {} };
  }
  if (command === 'token') throw new UsageError('say which: token create|list|revoke', 'token');
  const usage = () => new UsageError(`usage: ${USAGE[command][0]}`, topic);
  // Settings flags are global; token create's own --namespace/--git-only are not settings.
  const flags = flagsOf(s);
  switch (command) {
    case 'console': {
      if (args.length) throw usage();
      if (s.values.has('version')) return { command: 'version', flags };
      return { command: 'console', flags };
    }
    case 'token-create': {
      if (args.length !== 1) throw usage();
      delete flags.namespace;
      delete flags['git-only'];
      const expires = one(s, 'expires');
      return {
        command,
        flags,
        name: args[0] as string,
        keys: s.values.get('key') ?? [],
        namespaces: s.values.get('namespace') ?? [],
        gitOnly: s.values.has('git-only'),
        ...(expires !== undefined ? { expires } : {}),
      };
    }
    case 'token-list':
      if (args.length) throw usage();
      return { command, flags };
    case 'token-revoke':
      if (args.length !== 1) throw usage();
      return { command, flags, name: args[0] as string };
    case 'audit': {
      if (args.length) throw usage();
      const raw = one(s, 'tail');
      const tail = raw === undefined || raw === '' ? DEFAULT_TAIL : Number(raw);
      if (!Number.isInteger(tail) || tail < 1)
        throw new UsageError(`--tail ${raw}: expected a positive whole number`, topic);
      return { command, flags, tail, follow: s.values.has('follow') };
    }
    case 'grants':
    case 'pause':
    case 'resume':
      if (args.length) throw usage();
      return { command, flags };
    case 'grants-revoke':
      if (args.length !== 1) throw usage();
      return { command, flags, id: args[0] as string };
    case 'setup': {
      if (args.length) throw usage();
      const runtime = one(s, 'runtime') ?? 'docker-desktop';
      if (!(RUNTIMES as readonly string[]).includes(runtime)) {
        const near = nearest(runtime, RUNTIMES);
        throw new UsageError(
          `--runtime ${runtime}: expected one of ${RUNTIMES.join(', ')}${near ? `; did you mean ${near}?` : ''}`,
          topic,
        );
      }
      return { command, flags, runtime: runtime as Runtime, token: one(s, 'token') ?? null };
    }
  }
}

/** `--help` for one command. */
export function commandUsage(topic: CommandName | 'token'): string {
  const lines = USAGE[topic];
  const end = lines.indexOf('') < 0 ? lines.length : lines.indexOf('');
  return [
    'Usage:',
    ...lines.slice(0, end).map((l) => `  ${l}`),
    ...lines.slice(end),
    '',
    `Also: --config-dir DIR, and every setting as a flag (ssh-agent-proxy --help lists them).`,
  ].join('\n');
}

/** `text` in lines of at most `width` characters, broken at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

export function usage(version: string): string {
  // Each flag: its variable and default on the first line, then what it means.
  const rows = SETTINGS.flatMap((s) => [
    `  --${s.flag.padEnd(23)} ${s.env} (default: ${s.default || s.unset || 'none'})`,
    ...wrap(s.describe, 94).map((l) => `      ${l}`),
  ]);
  return [
    `ssh-agent-proxy ${version} — sign git commits in sandboxes with keys in the host's SSH agent`,
    '',
    'Usage:',
    ...USAGE.console.map((l) => `  ${l}`),
    ...USAGE.token.map((l) => `  ${l}`),
    '  ssh-agent-proxy audit [--tail [N]] [--follow]   the newest audit records, readable',
    `  ssh-agent-proxy setup [--runtime ${RUNTIMES.join('|')}] [--token NAME]`,
    '                                        the lines to paste into a sandbox',
    '  ssh-agent-proxy grants [revoke ID] | pause | resume',
    '                                        the running proxy: its grants, pause/resume signing',
    '  ssh-agent-proxy --help | --version | COMMAND --help',
    '',
    'Options (each also an environment variable and a settings.json key; every command takes them):',
    `  --${'config-dir'.padEnd(23)} SSH_AGENT_PROXY_CONFIG_DIR`,
    '      Where tokens, settings and logs live (default: the platform config dir, see README).',
    ...rows,
    '',
    'Exit codes: 0 stopped cleanly, 1 could not start or the command failed, 2 invalid setting or usage.',
  ].join('\n');
}
