// `npm run bench`: the proxy measured against the agent it fronts, in one run.
// The agent is the floor: (a) dial + list + sign straight on the agent from this process,
// and the agent serving 8 direct clients; then (b) /sign sequential over keep-alive and
// (c) at 8 concurrent clients, both on the real `--console` process; (d) the shim against
// `ssh-keygen -Y sign` using the agent. Reports; never gates CI.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { Agent as HttpAgent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withAgent } from '../src/core/agent-client.js';
import { signFlags, checkSignature } from '../src/core/signature-check.js';
import { signedData } from '../src/core/sshsig.js';
import { benchShim } from './shim.js';

const ROOT = join(__dirname, '..');
const CLI = join(ROOT, 'dist', 'cli', 'cli.js');
const SHIM = join(ROOT, 'scripts', 'ssh-agent-proxy-sign');
const SEQ = Number(process.env.BENCH_SEQ ?? 400);
const CONC_TOTAL = Number(process.env.BENCH_CONC ?? 1600);
const PROC = Number(process.env.BENCH_PROC ?? 40);
const ROUNDS = 5;
const timeouts = { connectMs: 5000, listMs: 10000, signMs: 120000 };

interface Stats {
  p50: number;
  p99: number;
  perSec: number;
}

function stats(samples: number[], wallMs: number): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
  return { p50: q(0.5), p99: q(0.99), perSec: (samples.length / wallMs) * 1000 };
}

interface Timed {
  samples: number[];
  wallMs: number;
}

function pooled(parts: Timed[]): Stats {
  return stats(
    parts.flatMap((p) => p.samples),
    parts.reduce((n, p) => n + p.wallMs, 0),
  );
}

async function timed(n: number, concurrency: number, op: () => Promise<void>): Promise<Stats> {
  const t = await timedRaw(n, concurrency, op);
  return stats(t.samples, t.wallMs);
}

async function timedRaw(n: number, concurrency: number, op: () => Promise<void>): Promise<Timed> {
  const samples: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        const s = performance.now();
        await op();
        samples.push(performance.now() - s);
      }
    }),
  );
  return { samples, wallMs: performance.now() - t0 };
}

function wait(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

function post(url: string, body: Buffer, agent: HttpAgent): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function getKeepAlive(url: string, agent: HttpAgent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

async function spawnProxy(env: NodeJS.ProcessEnv, port: number) {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, '--console'], {
    env: {
      ...env,
      SSH_AGENT_PROXY_ADDR: `127.0.0.1:${port}`,
      SSH_AGENT_PROXY_LOG_LEVEL: 'warn',
      SSH_AGENT_PROXY_RATE_LIMIT: '0',
      SSH_AGENT_PROXY_APPROVAL: 'allow',
    },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  while ((await get(`${url}/healthz`)) !== 200) await wait(2);
  return { child, url, startMs: performance.now() - t0 };
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function fmt(s: Stats) {
  return `p50 ${s.p50.toFixed(2).padStart(7)} ms  p99 ${s.p99.toFixed(2).padStart(7)} ms  ${s.perSec.toFixed(0).padStart(6)} signs/s`;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'sap-bench-'));
  const sock = join(dir, 'agent.sock');
  const agentProc = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  try {
    while (!existsSync(sock)) await wait(5);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
    execFileSync('ssh-add', ['-q', join(dir, 'k')], {
      env: { ...process.env, SSH_AUTH_SOCK: sock },
    });
    const env = {
      PATH: process.env.PATH,
      HOME: dir,
      SSH_AUTH_SOCK: sock,
      SSH_AGENT_PROXY_CONFIG_DIR: join(dir, 'cfg'),
    };
    const msg = Buffer.from(
      'tree 4b825dc642cb6eb9a060e54bf8d69288fbe4904b\nauthor A <a@x> 1700000000 +0000\ncommitter A <a@x> 1700000000 +0000\n\nbench\n',
    );

    // (a) baseline and the agent's own ceiling at 8 direct clients — the same work the proxy does per request.
    const direct = async () => {
      await withAgent(sock, timeouts, async (c) => {
        const id = (await c.listIdentities())[0]!;
        const data = signedData('git', msg);
        const sig = await c.sign(id.key.blob, data, signFlags(id.key));
        checkSignature(id.key, data, sig);
      });
    };
    await timed(50, 1, direct); // warm-up

    const port = 17000 + Math.floor(Math.random() * 20000);
    const starts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const p = await spawnProxy(env, port + 1 + i);
      starts.push(p.startMs);
      p.child.kill('SIGTERM');
    }
    const proxy = await spawnProxy(env, port);
    await wait(1000);
    const idleRss = rssMb(proxy.child.pid!);

    const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    const sign1 = async () => {
      if ((await post(`${proxy.url}/sign`, msg, keepAlive)) !== 200) throw new Error('sign failed');
    };
    await timed(50, 1, sign1);
    const pool = new HttpAgent({ keepAlive: true, maxSockets: 8 });
    const sign8 = async () => {
      if ((await post(`${proxy.url}/sign`, msg, pool)) !== 200) throw new Error('sign failed');
    };
    // Baseline and proxy alternate in rounds, so drift in this machine's load hits both alike.
    const rounds = { a: [] as Timed[], b: [] as Timed[], a8: [] as Timed[], c: [] as Timed[] };
    for (let r = 0; r < ROUNDS; r++) {
      rounds.a.push(await timedRaw(SEQ / ROUNDS, 1, direct));
      rounds.b.push(await timedRaw(SEQ / ROUNDS, 1, sign1));
      rounds.a8.push(await timedRaw(CONC_TOTAL / ROUNDS, 8, direct));
      rounds.c.push(await timedRaw(CONC_TOTAL / ROUNDS, 8, sign8));
    }
    const [a, b, a8, c] = [rounds.a, rounds.b, rounds.a8, rounds.c].map(pooled) as [
      Stats,
      Stats,
      Stats,
      Stats,
    ];
    // The HTTP round trip alone (no agent): the part of (b) the agent cannot explain.
    const health = await timed(SEQ, 1, async () => {
      if ((await getKeepAlive(`${proxy.url}/healthz`, keepAlive)) !== 200)
        throw new Error('healthz failed');
    });
    const busyRss = rssMb(proxy.child.pid!);

    // (d) whole processes, as git runs them (bench/shim.ts).
    const d = benchShim({
      dir,
      keyFile: join(dir, 'k'),
      agentSock: sock,
      proxyUrl: proxy.url,
      shim: SHIM,
      signs: PROC / 5,
      rebaseCommits: 200,
    });
    proxy.child.kill('SIGTERM');
    keepAlive.destroy();
    pool.destroy();

    const startMed = [...starts].sort((x, y) => x - y)[2]!;
    const pass = (ok: boolean) => (ok ? 'ok  ' : 'MISS');
    const lines = [
      `SSH Agent Proxy benchmark — Node ${process.version}, Ed25519 key in OpenSSH ssh-agent, ${new Date().toISOString()}`,
      '',
      `(a)  agent direct, 1 client      ${fmt(a)}   baseline`,
      `     agent direct, 8 clients     ${fmt(a8)}`,
      `(b)  /sign sequential keep-alive ${fmt(b)}   p50 ${(b.p50 / a.p50).toFixed(2)}× baseline`,
      `(c)  /sign 8 concurrent clients  ${fmt(c)}   ${(c.perSec / a8.perSec).toFixed(2)}× the agent at 8 direct clients`,
      `     /healthz sequential         ${fmt(health)}   the HTTP round trip alone: ${(health.p50 / a.p50).toFixed(2)}× baseline`,
      ...d.lines,
      '',
      `console process: idle RSS ${idleRss.toFixed(1)} MB, after load ${busyRss.toFixed(1)} MB; spawn → first 200 on /healthz: median ${startMed.toFixed(0)} ms of 5`,
      '',
      'targets:',
      `  ${pass(b.p50 <= 1.3 * a.p50)} (b) p50 ≤ 1.3× (a)            ${(b.p50 / a.p50).toFixed(2)}×`,
      `  ${pass(c.perSec >= 0.8 * a8.perSec)} (c) ≥ 0.8× agent at 8 clients ${(c.perSec / a8.perSec).toFixed(2)}×`,
      `  ${pass(idleRss <= 60)} idle RSS ≤ 60 MB              ${idleRss.toFixed(1)} MB`,
      `  ${pass(startMed <= 300)} start ≤ 300 ms                ${startMed.toFixed(0)} ms`,
      ...d.targets,
    ];
    console.log(lines.join('\n'));
  } finally {
    agentProc.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
