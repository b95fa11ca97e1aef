// (f) SSH authentication from a sandbox: `ssh -p PORT user@127.0.0.1 true` against a real
// sshd on loopback, through the shim's agent bridge and the proxy's GET /agent (approval
// `allow`: no prompt, the same path a live grant takes), against the same login with the
// agent socket directly. Whole processes, alternated in rounds so drift in the machine's
// load hits both alike. Reported as the ratio of medians.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export interface SshLoginBenchInput {
  dir: string;
  /** The login key's private file (`.pub` beside it), held by the agent at `agentSock`. */
  keyFile: string;
  agentSock: string;
  proxyUrl: string;
  shim: string;
  token?: string;
  /** Logins per form and round. */
  logins: number;
}

const ROUNDS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 15_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function benchSshLogin(
  input: SshLoginBenchInput,
): Promise<{ lines: string[]; targets: string[] }> {
  const home = join(input.dir, 'sshd');
  mkdirSync(home, { recursive: true });
  if (!existsSync('/run/sshd')) {
    try {
      mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    } catch {
      // not root: sshd says itself if it needs the directory
    }
  }
  const hostKey = join(home, 'host_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  writeFileSync(join(home, 'authorized_keys'), readFileSync(`${input.keyFile}.pub`));
  const port = await freePort();
  const cfg = join(home, 'sshd_config');
  writeFileSync(
    cfg,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(home, 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PidFile none',
      '',
    ].join('\n'),
  );
  const knownHosts = join(home, 'known_hosts');
  const [type, b64] = readFileSync(`${hostKey}.pub`, 'utf8').split(' ');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${type} ${b64}\n`);
  const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', cfg], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let sshdLog = '';
  sshd.stderr!.on('data', (c: Buffer) => (sshdLog += c.toString()));
  const sock = join(input.dir, 'bridge.sock');
  const bridge = spawn('sh', [input.shim, 'agent', sock], {
    env: {
      PATH: process.env.PATH,
      HOME: input.dir,
      SSH_AGENT_PROXY_URL: `${input.proxyUrl}/sign`,
      ...(input.token ? { SSH_AGENT_PROXY_TOKEN: input.token } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  let bridgeOut = '';
  bridge.stdout!.on('data', (c: Buffer) => (bridgeOut += c.toString()));
  try {
    await until(() => /Server listening/.test(sshdLog) || sshd.exitCode !== null, 'sshd');
    await until(() => bridgeOut.includes('\n') || bridge.exitCode !== null, 'the agent bridge');
    const login = (agent: string) => {
      const t = performance.now();
      const r = spawnSync(
        'ssh',
        [
          '-F',
          'none',
          '-o',
          `UserKnownHostsFile=${knownHosts}`,
          '-o',
          'BatchMode=yes',
          '-o',
          `IdentityAgent=${agent}`,
          '-o',
          'IdentityFile=/dev/null/none',
          '-p',
          String(port),
          `${userInfo().username}@127.0.0.1`,
          'true',
        ],
        { env: { PATH: process.env.PATH, HOME: input.dir }, encoding: 'utf8' },
      );
      if (r.status !== 0) throw new Error(`bench: ssh through ${agent} failed: ${r.stderr}`);
      return performance.now() - t;
    };
    login(input.agentSock);
    login(sock);
    const direct: number[] = [];
    const proxied: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < input.logins; i++) direct.push(login(input.agentSock));
      for (let i = 0; i < input.logins; i++) proxied.push(login(sock));
    }
    const d = median(direct);
    const p = median(proxied);
    return {
      lines: [
        `(f)  ssh … true, agent socket    p50 ${d.toFixed(1).padStart(7)} ms`,
        `     ssh … true, via /agent      p50 ${p.toFixed(1).padStart(7)} ms   ${(p / d).toFixed(2)}× direct (shim bridge + proxy, no prompt)`,
      ],
      targets: [
        `  ${p <= 1.5 * d ? 'ok  ' : 'MISS'} (f) ssh login ≤ 1.5× direct    ${(p / d).toFixed(2)}×`,
      ],
    };
  } finally {
    if (bridge.exitCode === null) process.kill(-bridge.pid!, 'SIGTERM');
    if (sshd.exitCode === null) sshd.kill('SIGTERM');
  }
}
