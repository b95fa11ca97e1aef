// (d) The sandbox side: the shim as git runs it, against ssh-keygen signing with the agent.
// Whole processes, alternated in rounds so drift in this machine's load hits both alike:
// `-Y sign` of one file (the shim's fast path, and its curl path for reference), and a
// 200-commit signed `git rebase -f --root` in a sandbox HOME, through the shim and natively.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ShimBenchInput {
  /** A temp dir of the bench's own. */
  dir: string;
  /** The signing key's private file (its `.pub` beside it) and the agent holding it. */
  keyFile: string;
  agentSock: string;
  /** The running proxy's base URL (rate limit off, approval allow). */
  proxyUrl: string;
  shim: string;
  /** `-Y sign` runs per form and round, and rebases per form. */
  signs: number;
  rebaseCommits: number;
  /** A client token, when the proxy requires one. */
  token?: string;
}

const ROUNDS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** Milliseconds each of `n` runs of `cmd args` took. */
function timeRuns(
  n: number,
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  after: () => void,
) {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    execFileSync(cmd, args, { env, stdio: 'ignore' });
    out.push(performance.now() - t0);
    after();
  }
  return out;
}

/** A repo of `n` unsigned commits (git fast-import: quick), configured to sign with `program`. */
function makeRepo(dir: string, n: number, env: NodeJS.ProcessEnv): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('git', ['init', '-q', '-b', 'main', dir], { env });
  let stream = '';
  for (let i = 1; i <= n; i++) {
    const content = `line ${i}\n`;
    stream +=
      `commit refs/heads/main\nmark :${i}\ncommitter Ana Example <ana@example.test> ${1700000000 + i} +0000\n` +
      `data ${`commit ${i}\n`.length}\ncommit ${i}\n` +
      (i > 1 ? `from :${i - 1}\n` : '') +
      `M 644 inline f\ndata ${content.length}\n${content}\n`;
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, env, input: stream });
  execFileSync('git', ['reset', '-q', '--hard', 'main'], { cwd: dir, env });
}

/** One signed `git rebase -f --root` of the whole repo; ms. Checks every commit got signed. */
function rebase(repo: string, env: NodeJS.ProcessEnv, n: number): number {
  const t0 = performance.now();
  execFileSync('git', ['-c', 'commit.gpgsign=true', 'rebase', '-q', '-f', '--root'], {
    cwd: repo,
    env,
    stdio: 'ignore',
  });
  const ms = performance.now() - t0;
  const marks = execFileSync('git', ['log', '--format=%G?'], { cwd: repo, env, encoding: 'utf8' });
  const good = marks.split('\n').filter((m) => m === 'G').length;
  if (good !== n) throw new Error(`rebase signed ${good} of ${n} commits with a good signature`);
  return ms;
}

/** The (d) lines of the report: measurements, then targets with OK/MISS. */
export function benchShim(i: ShimBenchInput): { lines: string[]; targets: string[] } {
  const pub = `${i.keyFile}.pub`;
  const file = join(i.dir, 'buffer');
  writeFileSync(
    file,
    'tree 4b825dc642cb6eb9a060e54bf8d69288fbe4904b\nauthor A <a@x> 1700000000 +0000\ncommitter A <a@x> 1700000000 +0000\n\nbench\n',
  );
  const base = { PATH: process.env.PATH, HOME: i.dir };
  const native = { ...base, SSH_AUTH_SOCK: i.agentSock };
  const viaShim = {
    ...base,
    SSH_AGENT_PROXY_URL: `${i.proxyUrl}/sign`,
    ...(i.token ? { SSH_AGENT_PROXY_TOKEN: i.token } : {}),
  };
  const viaCurl = { ...viaShim, SSH_AGENT_PROXY_FAST: '0' };
  const args = ['-Y', 'sign', '-n', 'git', '-f', pub, file];
  const clean = () => rmSync(`${file}.sig`, { force: true });

  // As the setup lines install it where the image has bash: `#!/bin/bash`, no sh start.
  const installed = join(i.dir, 'ssh-agent-proxy-sign');
  writeFileSync(installed, readFileSync(i.shim, 'utf8').replace(/^#!.*\n/, '#!/bin/bash\n'), {
    mode: 0o755,
  });

  const keygen: number[] = [];
  const shim: number[] = [];
  const viaSh: number[] = [];
  const curl: number[] = [];
  timeRuns(5, 'ssh-keygen', args, native, clean); // warm-up
  timeRuns(5, installed, args, viaShim, clean);
  for (let r = 0; r < ROUNDS; r++) {
    keygen.push(...timeRuns(i.signs, 'ssh-keygen', args, native, clean));
    shim.push(...timeRuns(i.signs, installed, args, viaShim, clean));
    viaSh.push(...timeRuns(i.signs, i.shim, args, viaShim, clean));
    curl.push(...timeRuns(i.signs, i.shim, args, viaCurl, clean));
  }

  // The rebase: one sandbox HOME per side, the same repo shape, alternated.
  const sides = {
    native: { program: 'ssh-keygen', env: native },
    shim: { program: i.shim, env: viaShim },
  };
  const times = { native: [] as number[], shim: [] as number[] };
  for (const [name, side] of Object.entries(sides)) {
    const home = join(i.dir, `rebase-${name}`);
    const env = { ...side.env, HOME: home, GIT_CONFIG_NOSYSTEM: '1' };
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'allowed'), `ana@example.test ${readFileSync(pub, 'utf8')}`);
    for (const [k, v] of [
      ['user.name', 'Ana Example'],
      ['user.email', 'ana@example.test'],
      ['gpg.format', 'ssh'],
      ['gpg.ssh.program', side.program],
      ['user.signingkey', pub],
      ['gpg.ssh.allowedSignersFile', join(home, 'allowed')],
    ]) {
      execFileSync('git', ['config', '--global', k as string, v as string], { env });
    }
    makeRepo(join(home, 'repo'), i.rebaseCommits, env);
  }
  for (let r = 0; r < 2; r++) {
    for (const name of ['native', 'shim'] as const) {
      const home = join(i.dir, `rebase-${name}`);
      const env = { ...sides[name].env, HOME: home, GIT_CONFIG_NOSYSTEM: '1' };
      times[name].push(rebase(join(home, 'repo'), env, i.rebaseCommits));
    }
  }

  const [k, s, sh, c] = [median(keygen), median(shim), median(viaSh), median(curl)];
  const [rn, rs] = [median(times.native), median(times.shim)];
  const pass = (ok: boolean) => (ok ? 'ok  ' : 'MISS');
  const ms = (x: number) => `${x.toFixed(2).padStart(7)} ms`;
  return {
    lines: [
      `(d)  ssh-keygen -Y sign (agent)  p50 ${ms(k)}`,
      `     shim -Y sign (bash #!)      p50 ${ms(s)}   ${(s / k).toFixed(2)}× ssh-keygen (installed as the setup lines do)`,
      `     shim -Y sign (sh → bash)    p50 ${ms(sh)}   ${(sh / k).toFixed(2)}× ssh-keygen (#!/bin/sh handing over to bash)`,
      `     shim -Y sign (curl)         p50 ${ms(c)}   ${(c / k).toFixed(2)}× ssh-keygen (SSH_AGENT_PROXY_FAST=0, for reference)`,
      `     ${i.rebaseCommits}-commit signed rebase -f --root: native ${rn.toFixed(0)} ms, through the shim (#!/bin/sh) ${rs.toFixed(0)} ms (median of 2)`,
    ],
    targets: [
      `  ${pass(s <= k)} (d) shim -Y sign ≤ 1.0× ssh-keygen ${(s / k).toFixed(2)}×`,
      `  ${pass(rs <= 1.2 * rn)} (d) ${i.rebaseCommits}-commit rebase ≤ 1.2× native ${(rs / rn).toFixed(2)}×`,
    ],
  };
}
