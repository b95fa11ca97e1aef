// `ssh-agent-proxy`: `--console` (the proxy headless, in plain Node or under Electron),
// and the `token` and `audit` subcommands.
import { ReadStream } from 'node:tty';
import { formatAudit, readAudit } from '../core/approval/audit.js';
import { ConfigError, loadConfig, type Config } from '../core/config/config.js';
import { containerSetup } from '../core/config/container-setup.js';
import { ed25519Impl } from '../core/ssh/ed25519.js';
import { ListenError } from '../core/http/listener.js';
import { parseDuration, TokenError, tokenState, TokenStore } from '../core/approval/token-store.js';
import { auditFiles } from '../log/audit-file.js';
import { consoleLogger } from '../log/console-log.js';
import pkg from '../../package.json';
import { parseCommandLine, usage, UsageError, type ParsedArgs } from './args.js';
import { startConfiguredProxy } from './start.js';
import { TerminalPrompter } from './terminal-prompter.js';

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
    if (!store.revoke(args.name)) {
      err(`no active token named "${args.name}"`);
      return 1;
    }
    out(`revoked "${args.name}"; a running proxy drops its grants and pending prompts at once`);
    return 0;
  }
  for (const k of args.keys) {
    if (!/^SHA256:[A-Za-z0-9+/]{43}$/.test(k))
      throw new UsageError(`--key ${k}: expected a SHA256: fingerprint (ssh-add -l)`);
  }
  const secret = store.create(args.name, {
    keys: args.keys,
    namespaces: args.namespaces,
    gitOnly: args.gitOnly,
    ...(args.expires ? { expiresInMs: parseDuration(args.expires) } : {}),
  });
  process.stderr.write(
    `Created client token "${args.name}". It is shown once; in the sandbox set\n  SSH_AGENT_PROXY_TOKEN=<the line below>\n`,
  );
  out(secret);
  return 0;
}

async function consoleCommand(config: Config): Promise<number> {
  const log = consoleLogger(config.configDir, config.logLevel);
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
  log.info(
    config.agent
      ? `agent: ${config.agent.path} (${config.agent.source})`
      : 'agent: none found — set SSH_AGENT_PROXY_UPSTREAM or SSH_AUTH_SOCK',
  );
  if (config.pinnedFingerprint) log.info(`pinned key: ${config.pinnedFingerprint}`);
  log.info(
    `client tokens: ${proxy.tokens.required ? `${proxy.tokens.usable().length} active, required on every request` : 'none (anonymous local clients allowed)'}`,
  );
  log.debug(`ed25519 verification: ${ed25519Impl()}`);

  let stop: (signal: string) => void = () => {};
  let prompter: TerminalPrompter | undefined;
  if (config.approval === 'allow') {
    log.warn(
      'UNATTENDED: approval policy "allow" signs every request without asking; give each sandbox its own token',
    );
  } else if (config.approval === 'deny') {
    log.warn('approval policy "deny": every request is refused');
  } else if (process.stdin.isTTY && process.stdin instanceof ReadStream) {
    prompter = new TerminalPrompter({
      broker: proxy.broker,
      input: process.stdin,
      output: process.stderr,
      onInterrupt: () => stop('Ctrl-C'),
    });
    prompter.start();
    log.info(
      'approval: requests are shown here; answer y (once), a (grant), n (deny); Ctrl-C stops the proxy',
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
  });
}

export async function runCli(argv: readonly string[]): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseCommandLine(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(`${e.message}\nTry --help.`);
    return 2;
  }
  if (args.command === 'help') return (out(usage(pkg.version)), 0);
  if (args.command === 'version') return (out(pkg.version), 0);

  let config: Config;
  try {
    config = loadConfig({ env: process.env, flags: args.flags });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    err(e.message);
    return 2;
  }
  try {
    switch (args.command) {
      case 'console':
        return await consoleCommand(config);
      case 'setup':
        out(
          containerSetup({
            runtime: args.runtime,
            port: config.addr.port,
            bindHost: config.addr.host,
            tokenName: args.token,
          }),
        );
        return 0;
      case 'audit': {
        const records = readAudit(auditFiles(config.configDir, config.auditKeep), args.tail);
        if (records.length === 0) out('no audit records yet');
        for (const r of records) out(formatAudit(r));
        return 0;
      }
      case 'token-create':
      case 'token-list':
      case 'token-revoke':
        return tokenCommand(args, config);
    }
  } catch (e) {
    if (e instanceof UsageError) {
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
