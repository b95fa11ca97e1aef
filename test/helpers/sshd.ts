// A real OpenSSH server for tests: /usr/sbin/sshd on a loopback port with its own host
// key, config and authorized_keys, in the foreground (-D -e), stopped when the file ends.
// Logins are as the current user (as root here: StrictModes no, UsePAM no).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { makeKey, onCleanup, waitFor, type TestKey } from './openssh.js';

export const SSHD = '/usr/sbin/sshd';

export interface Sshd {
  port: number;
  user: string;
  hostKey: TestKey;
  /** The known_hosts line ssh would write for it (`[127.0.0.1]:PORT type key`). */
  knownHostsLine: string;
  log: () => string;
  stop(): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export async function startSshd(
  dir: string,
  authorizedKeys: readonly string[],
  name = 'sshd',
): Promise<Sshd> {
  const home = join(dir, name);
  mkdirSync(home, { recursive: true });
  // sshd refuses to start without its privilege-separation directory.
  if (!existsSync('/run/sshd')) {
    try {
      mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    } catch {
      // not root: sshd says itself if it needs the directory
    }
  }
  const hostKey = await makeKey(home, 'ed25519', 'host_ed25519');
  const ak = join(home, 'authorized_keys');
  writeFileSync(ak, `${authorizedKeys.join('\n')}\n`);
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const cfg = join(home, 'sshd_config');
    writeFileSync(
      cfg,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey.priv}`,
        `AuthorizedKeysFile ${ak}`,
        'StrictModes no',
        'UsePAM no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PubkeyAuthentication yes',
        'AllowAgentForwarding yes',
        'PidFile none',
        'LogLevel VERBOSE',
        `SetEnv PATH=${process.env.PATH}`,
        '',
      ].join('\n'),
    );
    const child = spawn(SSHD, ['-D', '-e', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
    const stop = () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    };
    onCleanup(stop);
    await waitFor(
      () => /Server listening on/.test(log) || child.exitCode !== null,
      10_000,
      'sshd to listen',
    );
    if (child.exitCode !== null) {
      if (attempt < 3 && /Address already in use/.test(log)) continue;
      throw new Error(`sshd did not start: ${log}`);
    }
    const [type, b64] = readFileSync(hostKey.pub, 'utf8').trim().split(' ');
    return {
      port,
      user: userInfo().username,
      hostKey,
      knownHostsLine: `[127.0.0.1]:${port} ${type} ${b64}`,
      log: () => log,
      stop,
    };
  }
}

/**
 * ssh options for a sandboxed client: no user config, only this known_hosts, only the
 * agent (`agentSock`, or $SSH_AUTH_SOCK when null).
 */
export function sshArgs(sshd: Sshd, knownHosts: string, agentSock: string | null): string[] {
  return [
    '-F',
    'none',
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    ...(agentSock ? ['-o', `IdentityAgent=${agentSock}`] : []),
    '-o',
    'IdentityFile=/dev/null/none',
    '-o',
    'PreferredAuthentications=publickey',
    '-p',
    String(sshd.port),
    `${sshd.user}@127.0.0.1`,
  ];
}
