// Start the real proxy for a test: in-process through the core, or as the built CLI.
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/core/config/config.js';
import { ANY_LOCAL_PROCESS_CONSENT } from '../../src/core/config/settings-spec.js';
import { silentLogger, type Logger } from '../../src/core/logger.js';
import { startProxy, type ProxyOptions, type RunningProxy } from '../../src/core/proxy.js';
import { onCleanup, tempDir, waitFor } from './openssh.js';
import { windowsSystemEnv } from './platform.js';

export const ROOT = join(__dirname, '..', '..');
export const SHIM = join(ROOT, 'scripts', 'ssh-agent-proxy-sign');
export const CLI = join(ROOT, 'dist', 'cli', 'cli.js');

/**
 * Approval `allow` with no client token, chosen outright (it is refused otherwise): the
 * tests that run tokenless under `allow` test other things than the token gate.
 */
export const ANY_LOCAL_PROCESS = {
  SSH_AGENT_PROXY_ALLOW_ANY_LOCAL_PROCESS: ANY_LOCAL_PROCESS_CONSENT,
} as const;

export interface TestProxy {
  proxy: RunningProxy;
  url: string;
  configDir: string;
}

/**
 * The proxy in this process, on a free loopback port, with a silent log unless given one.
 * Approval defaults to `allow` (tokenless, by the opt-out) here: tests of the approval gate
 * set it explicitly.
 */
export async function startTestProxy(
  env: Record<string, string>,
  log: Logger = silentLogger,
  extra: Partial<ProxyOptions> = {},
): Promise<TestProxy> {
  const configDir = env.SSH_AGENT_PROXY_CONFIG_DIR ?? tempDir('sap-cfg-');
  const config = loadConfig({
    env: {
      SSH_AGENT_PROXY_ADDR: '127.0.0.1:0',
      SSH_AGENT_PROXY_APPROVAL: 'allow',
      ...ANY_LOCAL_PROCESS,
      SSH_AGENT_PROXY_CONFIG_DIR: configDir,
      ...env,
    },
  });
  const proxy = await startProxy({ config, log, shimText: readFileSync(SHIM, 'utf8'), ...extra });
  onCleanup(() => proxy.close(100));
  return { proxy, url: proxy.url(), configDir };
}

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

/** A raw HTTP request with exactly the headers given (plus Host unless overridden). */
export function http(
  url: string,
  opts: {
    method?: string;
    headers?: Record<string, string | undefined>;
    body?: Buffer | string;
    agent?: import('node:http').Agent;
  } = {},
): Promise<HttpResult> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k] = v;
    const req = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: opts.method ?? 'GET',
        headers,
        agent: opts.agent,
        setHost: !('Host' in headers) && !('host' in headers),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            text: body.toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

export interface ConsoleProxy {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The built CLI as a child process (`--console`, approval `allow` unless set), resolved once it says where it listens. */
export async function spawnConsole(
  env: Record<string, string>,
  args: string[] = [],
  /** A command the proxy runs under, e.g. `['prlimit', '--nofile=256:256']`. */
  under: string[] = [],
): Promise<ConsoleProxy> {
  const argv = [process.execPath, CLI, '--console', ...args];
  const child = spawn(
    under[0] ?? argv[0]!,
    [...under.slice(1), ...argv.slice(under.length ? 0 : 1)],
    {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...windowsSystemEnv(),
        SSH_AGENT_PROXY_ADDR: '127.0.0.1:0',
        SSH_AGENT_PROXY_APPROVAL: 'allow',
        ...ANY_LOCAL_PROCESS,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  child.stdout!.resume();
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  // Gone before its config dir is removed (a stopping proxy still writes its logs).
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  await waitFor(
    () => /listening on (http:\/\/\S+)/.test(err) || child.exitCode !== null,
    10_000,
    'the console proxy to listen',
  );
  const m = /listening on (http:\/\/\S+)/.exec(err);
  if (!m) throw new Error(`console proxy did not start: ${err}`);
  return {
    child,
    url: m[1] as string,
    stderr: () => err,
    stop: async (signal = 'SIGTERM') => {
      child.kill(signal);
      return exited;
    },
  };
}
