// `ssh-agent-proxy`: `--console` (the proxy headless, in plain Node or under Electron),
// and the `token` and `audit` subcommands.
import { Writable } from 'node:stream';
import { ReadStream } from 'node:tty';
import { formatAudit, readAudit } from '../core/approval/audit.js';
import { ConfigError, loadConfig, type Config } from '../core/config/config.js';
import { containerSetup } from '../core/config/container-setup.js';
import { checkAgentAtStart } from '../core/agent/agent-startup-check.js';
import { ed25519Impl } from '../core/ssh/ed25519.js';
import { ListenError } from '../core/http/listener.js';
import {
  parseDuration,
  TokenError,
  tokenId,
  tokenState,
  TokenStore,
} from '../core/approval/token-store.js';
import type { PendingRequest } from '../core/approval/approval-broker.js';
import type { ControlRequest } from '../core/control/control-protocol.js';
import { appendAuditSync, auditFiles, auditPath, refusalFiles } from '../log/audit-file.js';
import { tokenEventRecord } from '../core/approval/audit-events.js';
import { consoleLogger } from '../log/console-log.js';
import pkg from '../../package.json';
import { commandUsage, parseCommandLine, usage, UsageError, type ParsedArgs } from './args.js';
import { followAudit } from './audit-follow.js';
import { desktopNotifier } from './desktop-notify.js';
import { headline, promptTitle } from '../core/approval/request-view.js';
import { someoneMayBeAsked } from '../core/approval/unattended-allow.js';
import { ControlClientError, controlRequest, describeAnswer } from './control-client.js';
import { configDirSetting, ensureWritableConfigDir } from './config-dir.js';
import { startedByNpm, watchParent } from './parent-watch.js';
import { startConfiguredProxy, WRITTEN_AT_START } from './start.js';
import { LiveRegion } from './live-region.js';
import { BRACKETED_PASTE_OFF, TerminalPrompter } from './terminal-prompter.js';

const out = (s: string) => process.stdout.write(`${s}\n`);
const err = (s: string) => process.stderr.write(`ssh-agent-proxy: ${s}\n`);

function tokenCommand(
  args: Extract<ParsedArgs, { command: `token-${string}` }>,
  config: Config,
): number {
  const store = new TokenStore(config.configDir);
  if (args.command === 'token-list') {
    const list = store.list();
    if (list.length === 0)
      out('no client tokens; create one with: ssh-agent-proxy token create NAME');
    for (const t of list) {
      const st = tokenState(t, Date.now());
      const state = st === 'active' ? st : `${st} ${st === 'revoked' ? t.revokedAt : t.expiresAt}`;
      const limits = [
        t.keys.length ? `keys ${t.keys.join(',')}` : 'any key',
        t.namespaces.length ? `namespaces ${t.namespaces.join(',')}` : 'any namespace',
        ...(t.gitOnly ? ['git objects only'] : []),
        t.expiresAt ? `expires ${t.expiresAt}` : 'no expiry',
      ];
      out(`${t.name}\t${state}\tcreated ${t.createdAt}\t${limits.join('; ')}`);
    }
    return 0;
  }
  if (args.command === 'token-revoke') {
    const revoked = store.usable().find((t) => t.name === args.name);
    if (!store.revoke(args.name)) {
      err(`no active token named "${args.name}"`);
      return 1;
    }
    out(`revoked "${args.name}"; a running proxy drops its grants and pending prompts at once`);
    try {
      if (revoked)
        appendAuditSync(
          config.configDir,
          tokenEventRecord('token-revoked', revoked, 'with ssh-agent-proxy token revoke'),
        );
    } catch (e) {
      // The revocation stands (it only takes power away); the missing record is said.
      err(
        `the revocation is in force, but the audit log could not record it: ${(e as Error).message}`,
      );
      return 1;
    }
    return 0;
  }
  for (const k of args.keys) {
    if (!/^SHA256:[A-Za-z0-9+/]{43}$/.test(k))
      throw new UsageError(`--key ${k}: expected a SHA256: fingerprint (ssh-add -l)`);
  }
  const expiresInMs = args.expires === undefined ? undefined : parseDuration(args.expires);
  const secret = store.create(args.name, {
    keys: args.keys,
    namespaces: args.namespaces,
    gitOnly: args.gitOnly,
    ...(expiresInMs !== undefined ? { expiresInMs } : {}),
  });
  const created = store.usable().find((t) => t.name === args.name)!;
  try {
    appendAuditSync(
      config.configDir,
      tokenEventRecord('token-created', created, 'with ssh-agent-proxy token create'),
    );
  } catch (e) {
    // No token that the audit does not know of: take it back.
    store.revoke(args.name);
    err(`the token was not created: the audit log cannot be written (${(e as Error).message})`);
    return 1;
  }
  process.stderr.write(
    `Created client token "${args.name}". It is shown once; in the sandbox set\n  SSH_AGENT_PROXY_TOKEN=<the line below>\n`,
  );
  out(secret);
  return 0;
}

/** A stream for the log's stderr lines: each batch goes above the prompt, which is redrawn. */
function aboveThePrompt(screen: LiveRegion): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      screen.around(() => process.stderr.write(chunk));
      done();
    },
  });
}

/** "its token was revoked" (or expired) when that is why a request left the queue. */
function tokenGone(tokens: TokenStore, r: PendingRequest): string | undefined {
  const id = r.client.token?.id;
  if (!id) return undefined;
  try {
    const record = tokens.list().find((t) => tokenId(t) === id);
    const state = record ? tokenState(record, Date.now()) : 'revoked';
    return state === 'active' ? undefined : `its token was ${state}`;
  } catch {
    return undefined; // the token file is unreadable: say nothing we do not know
  }
}

/** A new request rings the terminal bell and, where one can be shown, a desktop notification. */
function consoleAlert(config: Config): ((r: PendingRequest) => void) | undefined {
  if (config.consoleAlert === 'off') return undefined;
  const notify = config.consoleAlert === 'notify' ? desktopNotifier() : null;
  return (r) => {
    if (process.stderr.isTTY) process.stderr.write('\x07');
    notify?.(
      `SSH Agent Proxy: ${promptTitle(r.description)}`,
      `${headline(r.description)} — from ${r.client.name}. Answer in the terminal.`,
    );
  };
}

async function consoleCommand(config: Config, configSetting: string): Promise<number> {
  // Before the logger: its file transport would spin on a folder it cannot create.
  ensureWritableConfigDir(config.configDir, configSetting, WRITTEN_AT_START);
  // The prompt is redrawn in place at the bottom of stderr; log lines go above it.
  const screen = new LiveRegion(process.stderr);
  const log = consoleLogger(config.configDir, config.logLevel, aboveThePrompt(screen));
  let proxy;
  try {
    proxy = await startConfiguredProxy(config, log);
  } catch (e) {
    if (e instanceof ConfigError) {
      err(e.message);
      return 2;
    }
    if (!(e instanceof ListenError)) throw e;
    log.error(e.message);
    return 1;
  }
  const agentCheck = await checkAgentAtStart(config);
  if (agentCheck.state === 'ok') log.info(agentCheck.message);
  else log.warn(agentCheck.message);
  if (config.pinnedFingerprint) log.info(`pinned key: ${config.pinnedFingerprint}`);
  log.info(
    `client tokens: ${proxy.tokens.required ? `${proxy.tokens.usable().length} active, required on every request` : 'none (anonymous local clients allowed)'}`,
  );
  log.debug(`ed25519 verification: ${ed25519Impl()}`);

  let stop: (signal: string) => void = () => {};
  let prompter: TerminalPrompter | undefined;
  if (config.approval === 'allow' && config.allowAnyLocalProcess) {
    log.warn(
      'UNATTENDED: approval policy "allow" signs every request without asking; give each sandbox its own token',
    );
  } else if (config.approval === 'allow') {
    log.warn(
      `UNATTENDED: approval policy "allow" signs every request that carries a client token without asking${config.agentSocket ? '; the agent socket takes none, so its requests are asked' : ''}`,
    );
  } else if (config.approval === 'deny') {
    log.warn('approval policy "deny": every request is refused');
  }
  // The terminal is taken over only where a request may wait for a person.
  if (!someoneMayBeAsked(config)) {
    /* nothing to show */
  } else if (process.stdin.isTTY && process.stdin instanceof ReadStream) {
    prompter = new TerminalPrompter({
      broker: proxy.broker,
      input: process.stdin,
      screen,
      onInterrupt: () => stop('Ctrl-C'),
      whyWithdrawn: (r) => tokenGone(proxy.tokens, r),
      log,
      alert: consoleAlert(config),
    });
    prompter.start();
    // However the process ends, give the terminal back without bracketed paste.
    process.once('exit', () => screen.setMode(BRACKETED_PASTE_OFF));
    log.info(
      'approval: requests are shown here; answer y (once), a (grant), e (grant for that program only), n (deny); g lists grants, p pauses and r resumes signing; Ctrl-C stops the proxy',
    );
  } else if (config.approval === 'allow') {
    log.warn(
      'stdin is not a terminal: requests on the agent socket will be denied (no-approver); approve them in a terminal or set SSH_AGENT_PROXY_ALLOW_ANY_LOCAL_PROCESS',
    );
  } else {
    log.warn(
      'approval policy is "prompt" but stdin is not a terminal: every request will be denied (no-approver). ' +
        'Run --console in a terminal to approve requests, or set SSH_AGENT_PROXY_APPROVAL=allow with client tokens for an unattended host.',
    );
  }
  // Last, so whoever waits for this line has seen everything above it.
  log.info(
    `ssh-agent-proxy ${pkg.version} listening on ${proxy.url()} (namespace "${config.namespace}", approval ${config.approval})`,
  );

  return new Promise((resolve) => {
    let stopping = false;
    stop = (signal: string) => {
      if (stopping) {
        log.warn(`${signal} again: exiting now`);
        return resolve(130);
      }
      stopping = true;
      prompter?.stop();
      log.info(
        `${signal}: shutting down (pending approvals are denied, in-flight requests finish)`,
      );
      void proxy.close(5_000).then(async () => {
        log.info('stopped');
        await log.flush(); // the log is written off the request path: finish it
        resolve(0);
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGHUP', () => stop('SIGHUP'));
    // A closed terminal fails every later write (EIO): shut down cleanly instead of crashing.
    let terminalGone = false;
    process.stderr.on('error', () => {
      if (!terminalGone) stop('terminal gone');
      terminalGone = true;
    });
    if (startedByNpm(process.env)) watchParent(() => stop('npm exited'));
  });
}

/** One line: what was wrong, and where the usage is. */
function usageError(e: UsageError): number {
  const help = e.topic
    ? `ssh-agent-proxy ${e.topic.replace('-', ' ')} --help`
    : 'ssh-agent-proxy --help';
  err(`${e.message} (see ${help})`);
  return 2;
}

function setupCommand(args: Extract<ParsedArgs, { command: 'setup' }>, config: Config): number {
  const store = new TokenStore(config.configDir);
  if (args.token !== null) {
    // Lines naming a token that cannot sign would only fail later, in the sandbox.
    const record = store.list().find((t) => t.name === args.token);
    const state = record ? tokenState(record, Date.now()) : null;
    if (state !== 'active') {
      err(
        `setup --token ${args.token}: ${state ? `that token is ${state}` : 'no token by that name'}; ` +
          `create one with: ssh-agent-proxy token create ${args.token} (list them with: ssh-agent-proxy token list)`,
      );
      return 1;
    }
  } else if (store.required) {
    const names = store.usable().map((t) => t.name);
    err(
      `setup: this proxy requires a client token; say which with --token NAME (${names.length ? `active: ${names.join(', ')}` : 'none is active; create one with: ssh-agent-proxy token create NAME'})`,
    );
    return 1;
  }
  out(
    containerSetup({
      runtime: args.runtime,
      port: config.addr.port,
      bindHost: config.addr.host,
      tokenName: args.token,
    }),
  );
  return 0;
}

async function auditCommand(
  args: Extract<ParsedArgs, { command: 'audit' }>,
  config: Config,
): Promise<number> {
  // Started before the tail is read, so nothing written in between is missed.
  const printed = new Set<string>();
  const follower = args.follow
    ? followAudit(auditPath(config.configDir), (r) => {
        if (!printed.has(r.id)) out(formatAudit(r));
      })
    : null;
  const records = readAudit(
    [...auditFiles(config.configDir, config.auditKeep), ...refusalFiles(config.configDir)],
    args.tail,
  );
  if (records.length === 0)
    out(args.follow ? 'no audit records yet; waiting for new ones' : 'no audit records yet');
  for (const r of records) {
    printed.add(r.id);
    out(formatAudit(r));
  }
  if (!follower) return 0;
  return new Promise((resolve) => {
    const stop = () => {
      follower.stop();
      resolve(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    process.stdout.on('error', stop); // the reader went away (`… | head`)
  });
}

/** grants, grants revoke, pause, resume: one request to the running proxy. */
async function controlCommand(
  args: Extract<ParsedArgs, { command: 'grants' | 'grants-revoke' | 'pause' | 'resume' }>,
  config: Config,
): Promise<number> {
  const req: ControlRequest =
    args.command === 'grants-revoke'
      ? { op: 'revoke', id: args.id }
      : { op: args.command === 'grants' ? 'grants' : args.command };
  try {
    for (const line of describeAnswer(req, await controlRequest(config.configDir, req), Date.now()))
      out(line);
    return 0;
  } catch (e) {
    if (!(e instanceof ControlClientError)) throw e;
    err(e.message);
    return 1;
  }
}

export async function runCli(argv: readonly string[]): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseCommandLine(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    return usageError(e);
  }
  if (args.command === 'help')
    return (out(args.topic ? commandUsage(args.topic) : usage(pkg.version)), 0);
  if (args.command === 'version') return (out(pkg.version), 0);

  let config: Config;
  try {
    config = loadConfig({ env: process.env, flags: args.flags });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    err(e.message);
    return 2;
  }
  const configSetting = configDirSetting(args.flags);
  try {
    switch (args.command) {
      case 'console':
        return await consoleCommand(config, configSetting);
      case 'setup':
        return setupCommand(args, config);
      case 'audit':
        return await auditCommand(args, config);
      case 'token-create':
      case 'token-revoke':
        // Before the store writes: it would spin on a folder it cannot create.
        ensureWritableConfigDir(config.configDir, configSetting, []);
        return tokenCommand(args, config);
      case 'token-list':
        return tokenCommand(args, config);
      case 'grants':
      case 'grants-revoke':
      case 'pause':
      case 'resume':
        return await controlCommand(args, config);
    }
  } catch (e) {
    if (e instanceof UsageError) return usageError(e);
    if (e instanceof ConfigError) {
      err(e.message);
      return 2;
    }
    if (e instanceof TokenError) {
      err(e.message);
      return 1;
    }
    throw e;
  }
}
