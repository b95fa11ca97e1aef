// Every setting, as one row: its environment variable, flag, settings.json key, default,
// description and parser. The README's table and the CLI's --help come from these rows,
// so a setting cannot exist without its documentation.
import { parseAddress, type ListenAddress } from '../host-port.js';
import { parseAuthorizedKey } from '../ssh/keys.js';
import { isValidNamespace } from '../ssh/sshsig.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`${setting}: ${message}`);
  }
}

export interface Settings {
  addr: ListenAddress;
  upstream: string | null;
  namespace: string;
  namespaces: string[];
  pubkey: string | null;
  pubkeyFile: string | null;
  allowedHosts: string[];
  maxBody: number;
  listTimeout: number;
  signTimeout: number;
  bodyTimeout: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  approval: 'prompt' | 'allow' | 'deny';
  allowAnyLocalProcess: boolean;
  approvalTimeout: number;
  grantMinutes: number;
  grantMaxSignatures: number;
  maxPending: number;
  maxPendingPerClient: number;
  gitOnly: boolean;
  auditMaxBytes: number;
  auditKeep: number;
  auditSync: 'write' | 'fsync';
  denyWhenLocked: boolean;
  consoleAlert: 'notify' | 'bell' | 'off';
  headersTimeout: number;
  maxConnections: number;
  maxBodyInFlight: number;
  rateLimit: number;
  rateBurst: number;
  knownHosts: string[];
  agentAllowForwarded: boolean;
  agentSocket: string | null;
  programLookup: boolean;
}

type Parser<T> = (raw: string) => T;

interface SettingSpec<K extends keyof Settings> {
  key: K;
  env: string;
  flag: string;
  default: string;
  /** What an empty default falls back to, for `--help` (where it is not simply "none"). */
  unset?: string;
  describe: string;
  parse: Parser<Settings[K]>;
}

type AnySpec = { [K in keyof Settings]: SettingSpec<K> }[keyof Settings];

function fail(msg: string): never {
  throw new Error(msg);
}

/** Exactly one of `words`; the error lists them ("prompt, allow or deny"). */
const oneOf =
  <W extends string>(...words: W[]): Parser<W> =>
  (raw) =>
    (words as string[]).includes(raw)
      ? (raw as W)
      : fail(`"${raw}" is not ${words.slice(0, -1).join(', ')} or ${words.at(-1)}`);

const seconds =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    const n = Number(raw);
    if (!/^\d+(\.\d+)?$/.test(raw.trim()) || n < min || n > max) {
      fail(`"${raw}" is not a number of seconds between ${min} and ${max}`);
    }
    return n * 1000;
  };

function bytes(raw: string): number {
  const m = /^(\d+)\s*(k|kib|m|mib)?$/i.exec(raw.trim());
  if (!m) fail(`"${raw}" is not a size in bytes (e.g. 16777216 or 16MiB)`);
  const unit = (m[2] ?? '').toLowerCase();
  const n = Number(m[1]) * (unit.startsWith('m') ? 1 << 20 : unit.startsWith('k') ? 1 << 10 : 1);
  if (n < 1024 || n > 1 << 30) fail(`${n} bytes is outside 1 KiB..1 GiB`);
  return n;
}

const integer =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || n < min || n > max)
      fail(`"${raw}" is not a whole number between ${min} and ${max}`);
    return n;
  };

function boolean(raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  return fail(`"${raw}" is not true or false`);
}

function list(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function namespace(raw: string): string {
  if (!isValidNamespace(raw)) fail(`"${raw}" is not a valid namespace (letters, digits, @._+-)`);
  return raw;
}

function pubkeyLine(raw: string): string {
  parseAuthorizedKey(raw); // validates
  return raw.trim();
}

/** The one value of SSH_AGENT_PROXY_ALLOW_ANY_LOCAL_PROCESS that turns it on: no accident. */
export const ANY_LOCAL_PROCESS_CONSENT = 'i-understand-any-local-process-signs';

export const SETTINGS: readonly AnySpec[] = [
  {
    key: 'addr',
    env: 'SSH_AGENT_PROXY_ADDR',
    flag: 'addr',
    default: '127.0.0.1:7221',
    describe:
      'HTTP listen address (HOST:PORT). Beyond loopback needs at least one client token. If the address is not available yet (an interface not up at login), the proxy serves on 127.0.0.1:PORT meanwhile and retries every 10 s.',
    parse: parseAddress,
  },
  {
    key: 'upstream',
    env: 'SSH_AGENT_PROXY_UPSTREAM',
    flag: 'upstream',
    default: '',
    unset: '$SSH_AUTH_SOCK, then the platform default',
    describe:
      'Agent socket or Windows pipe. Empty: $SSH_AUTH_SOCK, the OpenSSH pipe on Windows, else the first well-known agent socket found (1Password, Secretive, Bitwarden, gpg-agent).',
    parse: (r) => r.trim() || null,
  },
  {
    key: 'namespace',
    env: 'SSH_AGENT_PROXY_NAMESPACE',
    flag: 'namespace',
    default: 'git',
    describe: 'SSHSIG namespace used when a request names none.',
    parse: namespace,
  },
  {
    key: 'namespaces',
    env: 'SSH_AGENT_PROXY_NAMESPACES',
    flag: 'namespaces',
    default: '',
    describe:
      'Comma-separated namespaces a request may ask for with ?namespace=. Empty: only the namespace above.',
    parse: (r) => list(r).map(namespace),
  },
  {
    key: 'pubkey',
    env: 'SSH_AGENT_PROXY_PUBKEY',
    flag: 'pubkey',
    default: '',
    describe: 'Pin: an authorized_keys line; only this key is ever used.',
    parse: (r) => (r.trim() ? pubkeyLine(r) : null),
  },
  {
    key: 'pubkeyFile',
    env: 'SSH_AGENT_PROXY_PUBKEY_FILE',
    flag: 'pubkey-file',
    default: '',
    describe:
      'Pin from a file holding the public key line (ignored when SSH_AGENT_PROXY_PUBKEY is set).',
    parse: (r) => r.trim() || null,
  },
  {
    key: 'allowedHosts',
    env: 'SSH_AGENT_PROXY_ALLOWED_HOSTS',
    flag: 'allowed-hosts',
    default: '',
    describe:
      'Extra comma-separated Host names accepted (besides localhost, 127.0.0.1, [::1], host.docker.internal, host.containers.internal and the bound address).',
    parse: (r) => list(r).map((h) => h.toLowerCase()),
  },
  {
    key: 'maxBody',
    env: 'SSH_AGENT_PROXY_MAX_BODY',
    flag: 'max-body',
    default: '16MiB',
    describe: 'Largest payload /sign accepts (413 past it).',
    parse: bytes,
  },
  {
    key: 'listTimeout',
    env: 'SSH_AGENT_PROXY_LIST_TIMEOUT',
    flag: 'list-timeout',
    default: '10',
    describe: 'Seconds to wait for the agent to connect and list keys.',
    parse: seconds(1, 600),
  },
  {
    key: 'signTimeout',
    env: 'SSH_AGENT_PROXY_SIGN_TIMEOUT',
    flag: 'sign-timeout',
    default: '120',
    describe:
      'Seconds to wait for the agent to sign (long: agents may ask for a touch or Touch ID).',
    parse: seconds(1, 3600),
  },
  {
    key: 'bodyTimeout',
    env: 'SSH_AGENT_PROXY_BODY_TIMEOUT',
    flag: 'body-timeout',
    default: '30',
    describe: 'Seconds a client has to send the request body (408 past it).',
    parse: seconds(1, 600),
  },
  {
    key: 'approval',
    env: 'SSH_AGENT_PROXY_APPROVAL',
    flag: 'approval',
    default: 'prompt',
    describe:
      'prompt: a person approves each request (tray or terminal); allow: sign unattended for clients that present a token, which needs at least one client token (a tokenless client, such as the host-local agent socket, is still asked; see SSH_AGENT_PROXY_ALLOW_ANY_LOCAL_PROCESS); deny: refuse everything.',
    parse: oneOf('prompt', 'allow', 'deny'),
  },
  {
    key: 'allowAnyLocalProcess',
    env: 'SSH_AGENT_PROXY_ALLOW_ANY_LOCAL_PROCESS',
    flag: 'allow-any-local-process',
    default: '',
    describe: `Lets approval \`allow\` run with no client token and decide for tokenless clients too (anonymous HTTP callers, the host-local agent socket), so that any local process or user signs and logs in silently and unnamed (the Rust ssh-agent-proxy's trust model). Only the exact value \`${ANY_LOCAL_PROCESS_CONSENT}\` turns it on.`,
    parse: (r) =>
      r.trim() === ''
        ? false
        : r.trim() === ANY_LOCAL_PROCESS_CONSENT ||
          fail(`"${r}" is not ${ANY_LOCAL_PROCESS_CONSENT} (or empty)`),
  },
  {
    key: 'approvalTimeout',
    env: 'SSH_AGENT_PROXY_APPROVAL_TIMEOUT',
    flag: 'approval-timeout',
    default: '60',
    describe: 'Seconds a request waits for an answer before it is denied (timed-out).',
    parse: seconds(5, 3600),
  },
  {
    key: 'grantMinutes',
    env: 'SSH_AGENT_PROXY_GRANT_MINUTES',
    flag: 'grant-minutes',
    default: '10',
    describe: 'How long "Allow for N minutes" lasts (this client, this key, this namespace).',
    parse: integer(1, 24 * 60),
  },
  {
    key: 'grantMaxSignatures',
    env: 'SSH_AGENT_PROXY_GRANT_MAX_SIGNATURES',
    flag: 'grant-max-signatures',
    default: '0',
    describe: 'Most signatures one grant covers; 0 = no limit within its time.',
    parse: integer(0, 1_000_000),
  },
  {
    key: 'maxPending',
    env: 'SSH_AGENT_PROXY_MAX_PENDING',
    flag: 'max-pending',
    default: '64',
    describe: 'Requests waiting for approval at once, all clients (429 past it).',
    parse: integer(1, 10_000),
  },
  {
    key: 'maxPendingPerClient',
    env: 'SSH_AGENT_PROXY_MAX_PENDING_PER_CLIENT',
    flag: 'max-pending-per-client',
    default: '16',
    describe: 'Requests waiting for approval at once from one client (429 past it).',
    parse: integer(1, 10_000),
  },
  {
    key: 'gitOnly',
    env: 'SSH_AGENT_PROXY_GIT_ONLY',
    flag: 'git-only',
    default: 'false',
    describe: 'Sign only git commits, tags and push certificates (422 not-a-git-object otherwise).',
    parse: boolean,
  },
  {
    key: 'auditMaxBytes',
    env: 'SSH_AGENT_PROXY_AUDIT_MAX_BYTES',
    flag: 'audit-max-bytes',
    default: '10MiB',
    describe: 'Size at which the audit log is rotated.',
    parse: bytes,
  },
  {
    key: 'auditKeep',
    env: 'SSH_AGENT_PROXY_AUDIT_KEEP',
    flag: 'audit-keep',
    default: '5',
    describe: 'Rotated audit files kept.',
    parse: integer(1, 100),
  },
  {
    key: 'auditSync',
    env: 'SSH_AGENT_PROXY_AUDIT_SYNC',
    flag: 'audit-sync',
    default: 'write',
    describe:
      'When a decision counts as recorded, before its answer is sent. write: the write to the audit log has returned (survives a killed proxy); fsync: it is on disk (survives power loss; concurrent requests share one sync).',
    parse: oneOf('write', 'fsync'),
  },
  {
    key: 'denyWhenLocked',
    env: 'SSH_AGENT_PROXY_DENY_WHEN_LOCKED',
    flag: 'deny-when-locked',
    default: 'false',
    describe: 'Tray app: deny requests automatically while the screen is locked.',
    parse: boolean,
  },
  {
    key: 'consoleAlert',
    env: 'SSH_AGENT_PROXY_CONSOLE_ALERT',
    flag: 'console-alert',
    default: 'notify',
    describe:
      '--console: on each new request, notify: ring the terminal bell and show a desktop notification where one can be (notify-send with a display on Linux, osascript on macOS); bell: the bell only; off: neither.',
    parse: oneOf('notify', 'bell', 'off'),
  },
  {
    key: 'headersTimeout',
    env: 'SSH_AGENT_PROXY_HEADERS_TIMEOUT',
    flag: 'headers-timeout',
    default: '10',
    describe: 'Seconds a client has to send its request headers (slow clients are dropped).',
    parse: seconds(1, 600),
  },
  {
    key: 'maxConnections',
    env: 'SSH_AGENT_PROXY_MAX_CONNECTIONS',
    flag: 'max-connections',
    default: '1024',
    describe:
      'Open HTTP connections at once (lowered to fit the open-files limit); one address holds at most an eighth of them before a token authenticates them.',
    parse: integer(8, 100_000),
  },
  {
    key: 'maxBodyInFlight',
    env: 'SSH_AGENT_PROXY_MAX_BODY_IN_FLIGHT',
    flag: 'max-body-in-flight',
    default: '64MiB',
    describe:
      'Request-body bytes held at once across all requests, one client at most a quarter of it (and at least SSH_AGENT_PROXY_MAX_BODY); 429 busy past it.',
    parse: bytes,
  },
  {
    key: 'rateLimit',
    env: 'SSH_AGENT_PROXY_RATE_LIMIT',
    flag: 'rate-limit',
    default: '600',
    describe:
      'Sustained sign requests a minute per client once its burst is spent: faster requests wait their turn (a few at a time, up to 30 s), past that 429 rate-limited. 0 turns it off.',
    parse: integer(0, 1_000_000),
  },
  {
    key: 'rateBurst',
    env: 'SSH_AGENT_PROXY_RATE_BURST',
    flag: 'rate-burst',
    default: '1000',
    describe:
      'Sign requests a client may make at full speed before SSH_AGENT_PROXY_RATE_LIMIT slows it (a 1,000-commit rebase fits).',
    parse: integer(1, 1_000_000),
  },
  {
    key: 'knownHosts',
    env: 'SSH_AGENT_PROXY_KNOWN_HOSTS',
    flag: 'known-hosts',
    default: '~/.ssh/known_hosts',
    describe:
      'Comma-separated known_hosts files that name the destination of an SSH login in the prompt and the audit log (hashed entries too); a host key in none of them is shown as "unknown host".',
    parse: (r) => list(r),
  },
  {
    key: 'agentAllowForwarded',
    env: 'SSH_AGENT_PROXY_AGENT_ALLOW_FORWARDED',
    flag: 'agent-allow-forwarded',
    default: 'false',
    describe:
      'Agent endpoint: allow sign requests on connections that ssh bound as forwarded (an `ssh -A` hop onward from the sandbox). Off: refused without a prompt.',
    parse: boolean,
  },
  {
    key: 'agentSocket',
    env: 'SSH_AGENT_PROXY_AGENT_SOCKET',
    flag: 'agent-socket',
    default: '',
    describe:
      'Optional host-local agent socket with the same gate (approval, grants, audit) in front of the upstream agent, for host processes or a VM socket mount: point SSH_AUTH_SOCK at it. Created mode 0600 in a 0700 directory; a stale socket is replaced.',
    parse: (r) => r.trim() || null,
  },
  {
    key: 'programLookup',
    env: 'SSH_AGENT_PROXY_PROGRAM_LOOKUP',
    flag: 'program-lookup',
    default: 'true',
    describe:
      'Name the program that asks (same-host connections: process, parents, executable) in prompts and the audit. Off: no lookups (no /proc walk, ss, lsof or PowerShell per connection), no Program line, and requests of one client, key and namespace are answered together whatever runs them.',
    parse: boolean,
  },
  {
    key: 'logLevel',
    env: 'SSH_AGENT_PROXY_LOG_LEVEL',
    flag: 'log-level',
    default: 'info',
    describe: 'debug, info, warn or error.',
    parse: oneOf('debug', 'info', 'warn', 'error'),
  },
];
