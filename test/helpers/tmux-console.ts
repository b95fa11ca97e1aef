// `--console` in a real pseudo-terminal for tests: a tmux pane of 120×50 running the built
// CLI, keys typed with send-keys, and the screen read with capture-pane, like a person
// would. Waiting is always polling the screen for an expected text, bounded by a deadline.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { ARM_DELAY_MS } from '../../src/cli/terminal-prompter.js';
import { onCleanup } from './openssh.js';
import { CLI, type HttpResult } from './proxy.js';
const tmux = (socket: string, args: string[]) =>
  new Promise<string>((resolve, reject) =>
    execFile('tmux', ['-L', socket, ...args], (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    ),
  );

export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

let sessions = 0;

export interface Terminal {
  url: string;
  /** Everything on the pane, scrollback included. */
  screen(): Promise<string>;
  /** From the last prompt header down: the live prompt, if one is shown. */
  prompt(): Promise<string>;
  keys(...keys: string[]): Promise<void>;
  /** Paste `text` as a terminal does: bracketed (ESC[200~…ESC[201~) when the program asked. */
  paste(text: string): Promise<void>;
  /** Poll the screen until `test` holds; returns that screen. */
  until(test: (screen: string) => boolean, what: string, ms?: number): Promise<string>;
  /** Wait out the arming delay after a state we have seen, then type. */
  answer(k: string): Promise<void>;
  configDir: string;
  /** How many times the terminal bell rang so far (tmux's alert-bell hook counts them). */
  bells(): number;
  /** What the pane was sent since it opened, escape codes and bells included. */
  raw(): string;
  /** The exit code of the proxy, once it has exited. */
  exitStatus(): Promise<string>;
}

/** `--console` with its own config dir under `dir`, dialling the agent at `agentSock`. */
export async function openConsoleTerminal(
  dir: string,
  agentSock: string,
  env: Record<string, string> = {},
): Promise<Terminal> {
  const socket = `sap-test-${process.pid}-${sessions++}`;
  const configDir = join(dir, socket);
  const vars = {
    HOME: dir,
    PATH: process.env.PATH ?? '',
    SSH_AUTH_SOCK: agentSock,
    SSH_AGENT_PROXY_ADDR: '127.0.0.1:0',
    SSH_AGENT_PROXY_CONFIG_DIR: configDir,
    // What these screens show must not depend on load: a program lookup past its budget
    // leaves a request unnamed, and requests of differing programs are not grouped (the
    // Program line and its grouping have their own tests).
    SSH_AGENT_PROXY_PROGRAM_LOOKUP: 'false',
    ...env,
  };
  const quote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
  // The shell reports how the proxy ended, on the screen like everything else.
  const cmd = [
    'sh',
    '-c',
    `env ${Object.entries(vars)
      .map(([k, v]) => quote(`${k}=${v}`))
      .join(' ')} ${quote(process.execPath)} ${quote(CLI)} --console; echo "exit status $?"`,
  ];
  await tmux(socket, [
    '-f',
    '/dev/null',
    'new-session',
    '-d',
    '-s',
    't',
    '-x',
    '120',
    '-y',
    '50',
    ...cmd,
  ]);
  onCleanup(() => tmux(socket, ['kill-server']).catch(() => {}));
  await tmux(socket, ['set-option', '-t', 't', 'remain-on-exit', 'on']);
  // Each terminal bell (BEL) the pane rings appends a line to this file.
  const bellLog = `${configDir}.bells`;
  // Every byte the pane is sent, in order (a BEL leaves nothing on screen to capture).
  const rawLog = `${configDir}.raw`;
  await tmux(socket, ['pipe-pane', '-t', 't', `cat >> '${rawLog}'`]);
  await tmux(socket, ['set-option', '-t', 't', 'monitor-bell', 'on']);
  await tmux(socket, [
    'set-hook',
    '-t',
    't',
    'alert-bell',
    `run-shell "echo bell >> '${bellLog}'"`,
  ]);
  const screen = () => tmux(socket, ['capture-pane', '-p', '-J', '-S', '-', '-t', 't']);
  const until = async (test: (s: string) => boolean, what: string, ms = 15_000) => {
    const end = Date.now() + ms;
    for (;;) {
      const s = await screen();
      if (test(s)) return s;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; screen:\n${s}`);
      await pause(20);
    }
  };
  const s = await until((s) => /listening on http:\/\/\S+/.test(s), 'the proxy in the terminal');
  const keys = async (...k: string[]) => void (await tmux(socket, ['send-keys', '-t', 't', ...k]));
  return {
    url: /listening on (http:\/\/\S+)/.exec(s)![1]!,
    screen,
    prompt: async () => live(await screen()),
    keys,
    paste: async (text: string) => {
      await tmux(socket, ['set-buffer', '-b', 'p', text]);
      await tmux(socket, ['paste-buffer', '-p', '-d', '-b', 'p', '-t', 't']);
    },
    until,
    answer: async (k: string) => {
      await pause(ARM_DELAY_MS + 100);
      await keys(k);
    },
    configDir,
    raw: () => {
      try {
        return readFileSync(rawLog, 'latin1');
      } catch {
        return '';
      }
    },
    bells: () => {
      try {
        return readFileSync(bellLog, 'utf8').split('\n').filter(Boolean).length;
      } catch {
        return 0;
      }
    },
    exitStatus: async () => {
      const screen = await until((s) => /^exit status \d+$/m.test(s), 'the proxy to exit');
      return /^exit status (\d+)$/m.exec(screen)![1]!;
    },
  };
}

/** POST /sign; the promise settles with the answer. `abort()` hangs up. */
export function sign(url: string, body: Buffer, headers: Record<string, string> = {}) {
  let hangUp = () => {};
  const result = new Promise<HttpResult | 'aborted'>((resolve) => {
    const u = new URL(`${url}/sign`);
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const b = Buffer.concat(chunks);
          resolve({ status: res.statusCode!, headers: res.headers, body: b, text: b.toString() });
        });
      },
    );
    req.on('error', () => resolve('aborted'));
    hangUp = () => req.destroy();
    req.end(body);
  });
  return { result, abort: () => hangUp() };
}

export const status = async (p: Promise<HttpResult | 'aborted'>) => {
  const r = await p;
  if (r === 'aborted') return r;
  return r.status === 200 ? '200' : `${r.status} ${r.text.split(':')[0]}`;
};

export const count = (text: string, needle: string) => text.split(needle).length - 1;
/** The prompt now on screen (from its header down), or '' when none is. */
export const live = (screen: string) => {
  const at = screen.lastIndexOf('━━ Approve signature?');
  return at < 0 || screen.slice(at).includes('\n  · ') ? '' : screen.slice(at);
};
export const header = (k: number, n: number) => `━━ Approve signature? (${k} of ${n}) ━━`;
