// Real OpenSSH peers for tests: a private ssh-agent per test file (on Windows the OpenSSH
// agent service, shared), keys from ssh-keygen.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** `ssh-keygen -Y verify` of `sig` over `input` for `identity` in the allowed-signers file. */
export function keygenVerify(
  allowed: string,
  identity: string,
  sig: string,
  input: string | Buffer,
  namespace = 'git',
): Promise<RunResult> {
  return run(
    'ssh-keygen',
    ['-Y', 'verify', '-f', allowed, '-I', identity, '-n', namespace, '-s', sig],
    { input },
  );
}

/** A temp dir removed when the test file ends. */
export function tempDir(prefix = 'sap-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // Retries on EBUSY/ENOTEMPTY and the like: a child killed a moment ago may still be
  // exiting (Windows keeps its files locked; a process may finish a last write). A dir
  // that still cannot be removed is reported, not a test failure: it is only litter.
  onCleanup(() => {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 10 });
    } catch (err) {
      process.stderr.write(`note: could not remove ${dir}: ${(err as Error).message}\n`);
    }
  });
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
  /** SSH_AUTH_SOCK for this agent: a socket file, or on Windows the service's named pipe. */
  sock: string;
  env: NodeJS.ProcessEnv;
  /** True on Windows: the one OpenSSH agent service, which other test files use at once. */
  shared: boolean;
  add(key: TestKey): Promise<void>;
  remove(key: TestKey): Promise<void>;
  /** Every key (private agent); on the shared Windows service, only the keys this handle added. */
  removeAll(): Promise<void>;
  stop(): void;
}

/** Where Windows' OpenSSH agent service listens (the service must be running). */
export const WINDOWS_AGENT_PIPE = '\\\\.\\pipe\\openssh-ssh-agent';

/**
 * Where a test's own server (relay, lying agent) listens: a socket file in `dir`, or on
 * Windows a named pipe, the only local endpoint Node's net module listens on there.
 */
export function localSocketPath(dir: string, name: string): string {
  return process.platform === 'win32'
    ? `\\\\.\\pipe\\sap-test-${process.pid}-${name}`
    : join(dir, name);
}

/**
 * A real ssh-agent for this test file. Linux and macOS: `ssh-agent -D` on a socket in `dir`,
 * stopped when the test file ends. Windows: the OpenSSH agent service on its pipe, held by
 * this file alone until it ends (every call returns the same handle: there is no second
 * agent there), which then removes exactly the keys it added (the service keeps keys).
 */
export async function startAgent(dir: string, name = 'agent.sock'): Promise<Agent> {
  if (process.platform === 'win32') return windowsServiceAgent();
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
    shared: false,
    add: async (k) => void (await mustRun('ssh-add', ['-q', k.priv], { env })),
    remove: async (k) => void (await mustRun('ssh-add', ['-q', '-d', k.pub], { env })),
    removeAll: async () => void (await mustRun('ssh-add', ['-q', '-D'], { env })),
    stop,
  };
}

/**
 * The service is one agent for the whole run, and test files run side by side: a file that
 * signs with "the first key" or counts keys must see only its own. So a test file holds the
 * agent alone, from its first startAgent to its end, through a lock folder that names its
 * process (a lock left by a process that died is taken over).
 */
const AGENT_LOCK = join(tmpdir(), 'sap-test-windows-agent.lock');
let windowsAgent: Promise<Agent> | undefined;

async function lockWindowsAgent(): Promise<void> {
  const owner = join(AGENT_LOCK, 'pid');
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  await waitFor(
    () => {
      try {
        mkdirSync(AGENT_LOCK);
        writeFileSync(owner, String(process.pid));
        return true;
      } catch {
        const pid = Number(existsSync(owner) ? readFileSync(owner, 'utf8') : NaN);
        if (Number.isInteger(pid) && !alive(pid))
          rmSync(AGENT_LOCK, { recursive: true, force: true });
        return false;
      }
    },
    30 * 60_000,
    'the Windows agent service (another test file holds it)',
  );
  onCleanup(() => rmSync(AGENT_LOCK, { recursive: true, force: true }));
}

function windowsServiceAgent(): Promise<Agent> {
  windowsAgent ??= openWindowsServiceAgent();
  return windowsAgent;
}

async function openWindowsServiceAgent(): Promise<Agent> {
  await lockWindowsAgent();
  const sock = WINDOWS_AGENT_PIPE;
  const env = { ...process.env, SSH_AUTH_SOCK: sock };
  const r = await run('ssh-add', ['-l'], { env });
  if (r.code === 0) {
    throw new Error(
      `the OpenSSH agent service already holds keys (${r.stdout.trim().split('\n').length}): the tests need it empty, as on a fresh runner`,
    );
  }
  if (r.code !== 1) {
    throw new Error(
      `the OpenSSH agent service does not answer on ${sock} (Start-Service ssh-agent): ${r.stderr.trim()}`,
    );
  }
  // Public key lines this handle added, kept in memory: the test's key files may be gone
  // by the time the cleanup runs. `ssh-add -d` reads them back from a folder of our own.
  const added = new Set<string>();
  const own = mkdtempSync(join(tmpdir(), 'sap-agent-'));
  const removeLine = async (line: string) => {
    const pub = join(own, `${Math.random().toString(36).slice(2)}.pub`);
    writeFileSync(pub, `${line}\n`);
    await mustRun('ssh-add', ['-q', '-d', pub], { env });
    added.delete(line);
  };
  const removeMine = async () => {
    for (const line of [...added]) await removeLine(line);
  };
  onCleanup(async () => {
    await removeMine();
    rmSync(own, { recursive: true, force: true });
  });
  return {
    sock,
    env,
    shared: true,
    add: async (k) => {
      await mustRun('ssh-add', ['-q', k.priv], { env });
      added.add(k.line);
    },
    remove: async (k) => {
      await mustRun('ssh-add', ['-q', '-d', k.pub], { env });
      added.delete(k.line);
    },
    removeAll: removeMine,
    stop: () => {
      throw new Error('the Windows OpenSSH agent service is shared: a test cannot stop it');
    },
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
