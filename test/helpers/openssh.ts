// Real OpenSSH peers for tests: a private ssh-agent per test file, keys from ssh-keygen.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

// Cleanups run once, when the whole test file is done (a hook registered inside a test
// would fire when that test ends).
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});
export function onCleanup(fn: () => unknown): void {
  cleanups.push(fn);
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command; never throws on a non-zero exit (tests assert on `code`). */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string | Buffer; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      {
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        maxBuffer: 64 << 20,
        timeout: opts.timeoutMs ?? 60_000,
        encoding: 'buffer',
      },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : -1
          : 0;
        if (
          err &&
          code === -1 &&
          !(err as { killed?: boolean }).killed &&
          (err as NodeJS.ErrnoException).code === 'ENOENT'
        ) {
          return reject(err);
        }
        resolve({ code, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8') });
      },
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

export async function mustRun(
  cmd: string,
  args: readonly string[],
  opts: Parameters<typeof run>[2] = {},
): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** A temp dir removed when the test file ends. */
export function tempDir(prefix = 'sap-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function waitFor(
  cond: () => boolean,
  timeoutMs = 5_000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface Agent {
  sock: string;
  env: NodeJS.ProcessEnv;
  add(key: TestKey): Promise<void>;
  remove(key: TestKey): Promise<void>;
  removeAll(): Promise<void>;
  stop(): void;
}

/** A real `ssh-agent -D` on a socket in `dir`, stopped when the test file ends. */
export async function startAgent(dir: string, name = 'agent.sock'): Promise<Agent> {
  const sock = join(dir, name);
  const child: ChildProcess = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  const stop = () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  };
  onCleanup(stop);
  await waitFor(() => existsSync(sock), 5_000, 'ssh-agent socket');
  const env = { ...process.env, SSH_AUTH_SOCK: sock };
  // The socket file exists a moment before the agent accepts on it: wait until `ssh-add -l`
  // gets an answer (0: keys, 1: none) rather than "cannot connect" (2).
  for (const end = Date.now() + 10_000; ;) {
    const r = await run('ssh-add', ['-l'], { env });
    if (r.code === 0 || r.code === 1) break;
    if (Date.now() > end) throw new Error(`ssh-agent never answered on ${sock}: ${r.stderr}`);
  }
  return {
    sock,
    env,
    add: async (k) => void (await mustRun('ssh-add', ['-q', k.priv], { env })),
    remove: async (k) => void (await mustRun('ssh-add', ['-q', '-d', k.pub], { env })),
    removeAll: async () => void (await mustRun('ssh-add', ['-q', '-D'], { env })),
    stop,
  };
}

export type KeyKind = 'ed25519' | 'rsa' | 'ecdsa256' | 'ecdsa384' | 'ecdsa521';

export interface TestKey {
  kind: KeyKind;
  priv: string;
  pub: string;
  /** The authorized_keys line, comment included. */
  line: string;
  fingerprint: string;
}

const KEYGEN_ARGS: Record<KeyKind, string[]> = {
  ed25519: ['-t', 'ed25519'],
  rsa: ['-t', 'rsa', '-b', '3072'],
  ecdsa256: ['-t', 'ecdsa', '-b', '256'],
  ecdsa384: ['-t', 'ecdsa', '-b', '384'],
  ecdsa521: ['-t', 'ecdsa', '-b', '521'],
};

export async function makeKey(dir: string, kind: KeyKind, name: string = kind): Promise<TestKey> {
  const priv = join(dir, name);
  await mustRun('ssh-keygen', [
    '-q',
    ...KEYGEN_ARGS[kind],
    '-N',
    '',
    '-C',
    `${name}@test`,
    '-f',
    priv,
  ]);
  const pub = `${priv}.pub`;
  const fp = (await mustRun('ssh-keygen', ['-l', '-E', 'sha256', '-f', pub])).split(
    ' ',
  )[1] as string;
  return { kind, priv, pub, line: readFileSync(pub, 'utf8').trim(), fingerprint: fp };
}
