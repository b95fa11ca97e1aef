// `npm run bench`: the proxy measured against what it cannot avoid, in one run.
// (a) dial + list + sign straight on the agent from this process, and the agent serving 8
// direct clients. (b) /sign naming its key (as the shim does) over keep-alive against its
// floor: the bare /healthz round trip + (a) + one Ed25519 verification with the same key.
// (c) /sign at 8 concurrent clients against the agent at 8. (d) the shim against
// `ssh-keygen -Y sign` using the agent. (e) 50 clients with their own tokens signing at
// at once. (f) `ssh … true` through the agent endpoint against the agent socket directly.
// (g) (b) and (c) per audit mode (SSH_AGENT_PROXY_AUDIT_SYNC=write | fsync): each answer
// waits for its record's write (and in fsync mode, a shared sync to disk).
// All on the real `--console` process. Reports; never gates CI.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { Agent as HttpAgent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyEd25519 } from '../src/core/ssh/ed25519.js';
import { AgentConnection, withAgent } from '../src/core/agent/agent-client.js';
import { TokenStore } from '../src/core/approval/token-store.js';
import { ANY_LOCAL_PROCESS_CONSENT } from '../src/core/config/settings-spec.js';
import { signFlags, checkSignature } from '../src/core/ssh/signature-check.js';
import { signedData } from '../src/core/ssh/sshsig.js';
import { benchShim } from './shim.js';
import { benchSshLogin } from './ssh-login.js';
import { freePort } from './free-port.js';

const ROOT = join(__dirname, '..');
const CLI = join(ROOT, 'dist', 'cli', 'cli.js');
const SHIM = join(ROOT, 'scripts', 'ssh-agent-proxy-sign');
const SEQ = Number(process.env.BENCH_SEQ ?? 1000);
const CONC_TOTAL = Number(process.env.BENCH_CONC ?? 1600);
const PROC = Number(process.env.BENCH_PROC ?? 40);
const ROUNDS = 10;
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

function post(
  url: string,
  body: Buffer,
  agent: HttpAgent,
  headers: Record<string, string> = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers },
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

/** Every proxy this run started, stopped however the run ends (no orphan keeps listening). */
const children = new Set<ChildProcess>();

async function spawnProxy(env: NodeJS.ProcessEnv, port?: number, extra: NodeJS.ProcessEnv = {}) {
  port ??= await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, '--console'], {
    env: {
      ...env,
      SSH_AGENT_PROXY_ADDR: `127.0.0.1:${port}`,
      SSH_AGENT_PROXY_LOG_LEVEL: 'warn',
      SSH_AGENT_PROXY_RATE_LIMIT: '0',
      SSH_AGENT_PROXY_APPROVAL: 'allow',
      // Tokenless on purpose: the bench measures signing, not the token gate.
      SSH_AGENT_PROXY_ALLOW_ANY_LOCAL_PROCESS: ANY_LOCAL_PROCESS_CONSENT,
      ...extra,
    },
    stdio: 'ignore',
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const url = `http://127.0.0.1:${port}`;
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + 15_000;
  while ((await get(`${url}/healthz`)) !== 200) {
    if (exited || Date.now() > deadline)
      throw new Error(`the proxy did not start on ${url} (port taken?)`);
    await wait(1);
  }
  return { child, url, startMs: performance.now() - t0 };
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function fmt(s: Stats) {
  return `p50 ${s.p50.toFixed(2).padStart(7)} ms  p99 ${s.p99.toFixed(2).padStart(7)} ms  ${s.perSec.toFixed(0).padStart(6)} signs/s`;
}

interface Arrivals {
  stats: Stats;
  errors: number;
  first: Stats;
  later: Stats;
}

/**
 * (e)'s arrival pattern: 50 clients at once, each with its own connection, 10 signs each
 * with 100–300 ms of think time between them. `open` gives a client its sign operation
 * (true when it succeeded) and a way to close it.
 */
async function fiftyArrivals(
  open: (client: number) => { sign: () => Promise<boolean>; close: () => void },
): Promise<Arrivals> {
  const samples: number[] = [];
  const first: number[] = [];
  const later: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 50 }, async (_, client) => {
      const c = open(client);
      try {
        for (let i = 0; i < 10; i++) {
          await wait(100 + Math.random() * 200);
          const s = performance.now();
          const ok = await c.sign().catch(() => false);
          samples.push(performance.now() - s);
          (i === 0 ? first : later).push(performance.now() - s);
          if (!ok) errors++;
        }
      } finally {
        c.close();
      }
    }),
  );
  const wall = performance.now() - t0;
  return {
    stats: stats(samples, wall),
    errors,
    first: stats(first, wall),
    later: stats(later, wall),
  };
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

    const keyLine = readFileSync(join(dir, 'k.pub'), 'utf8').trim();
    const named = { 'X-SSH-Agent-Proxy-Key': keyLine };

    // (a) the agent's own round trip — what the proxy does on the agent per request — and
    // its ceiling at 8 direct clients. The verification is timed on its own (floor of (b)).
    let lastSig: { id: Buffer; pk: Buffer; data: Buffer; sig: Buffer } | null = null;
    const direct = async () => {
      await withAgent(sock, timeouts, async (c) => {
        const id = (await c.listIdentities())[0]!;
        const data = signedData('git', msg);
        const sig = await c.sign(id.key.blob, data, signFlags(id.key));
        lastSig = { id: id.key.blob, pk: (id.key.signing as { pk: Buffer }).pk, data, sig };
      });
    };
    const directChecked = async () => {
      await withAgent(sock, timeouts, async (c) => {
        const id = (await c.listIdentities())[0]!;
        const data = signedData('git', msg);
        checkSignature(id.key, data, await c.sign(id.key.blob, data, signFlags(id.key)));
      });
    };
    await timed(50, 1, direct); // warm-up
    const verifyOnce = async () => {
      const s = lastSig!;
      // The raw Ed25519 signature inside the SSH signature blob (string alg, string sig).
      const raw = s.sig.subarray(4 + s.sig.readUInt32BE(0) + 4);
      if (!verifyEd25519(s.pk, s.data, raw)) throw new Error('verify failed');
    };

    const starts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const p = await spawnProxy(env);
      starts.push(p.startMs);
      p.child.kill('SIGTERM');
    }
    // 50 client tokens for (e), made before the proxy starts.
    const store = new TokenStore(join(dir, 'cfg'));
    const clientTokens = Array.from({ length: 50 }, (_, i) => store.create(`bench${i}`));
    const proxy = await spawnProxy(env);
    await wait(1000);
    const idleRss = rssMb(proxy.child.pid!);

    const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    const auth0 = { Authorization: `Bearer ${clientTokens[0]}` };
    const sign1 = async () => {
      const status = await post(`${proxy.url}/sign`, msg, keepAlive, { ...named, ...auth0 });
      if (status !== 200) throw new Error(`sign failed: HTTP ${status}`);
    };
    await timed(50, 1, sign1);
    const pool = new HttpAgent({ keepAlive: true, maxSockets: 8 });
    const sign8 = async () => {
      const status = await post(`${proxy.url}/sign`, msg, pool, { ...named, ...auth0 });
      if (status !== 200) throw new Error(`sign failed: HTTP ${status}`);
    };
    // Baseline and proxy alternate in rounds, so drift in this machine's load hits both alike.
    const healthz = async () => {
      if ((await getKeepAlive(`${proxy.url}/healthz`, keepAlive)) !== 200)
        throw new Error('healthz failed');
    };
    const rounds = {
      a: [] as Timed[],
      v: [] as Timed[],
      h: [] as Timed[],
      b: [] as Timed[],
      a8: [] as Timed[],
      c: [] as Timed[],
    };
    for (let r = 0; r < ROUNDS; r++) {
      rounds.a.push(await timedRaw(SEQ / ROUNDS, 1, direct));
      rounds.v.push(await timedRaw(SEQ / ROUNDS, 1, verifyOnce));
      rounds.h.push(await timedRaw(SEQ / ROUNDS, 1, healthz));
      rounds.b.push(await timedRaw(SEQ / ROUNDS, 1, sign1));
      rounds.a8.push(await timedRaw(CONC_TOTAL / ROUNDS, 8, directChecked));
      rounds.c.push(await timedRaw(CONC_TOTAL / ROUNDS, 8, sign8));
    }
    const [a, verifyStats, health, b, a8, c] = [
      rounds.a,
      rounds.v,
      rounds.h,
      rounds.b,
      rounds.a8,
      rounds.c,
    ].map(pooled) as [Stats, Stats, Stats, Stats, Stats, Stats];
    const floor = health.p50 + a.p50 + verifyStats.p50;

    // (e) 50 clients, each with its own token and connection, signing
    // at once: 100–300 ms between signs each, ~250 signs/s in all — a third of what the agent
    // serves, so what is measured is the proxy's fairness and per-token cost, not a queue.
    const e = await fiftyArrivals((client) => {
      const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
      const headers = { ...named, Authorization: `Bearer ${clientTokens[client]}` };
      return {
        sign: async () => (await post(`${proxy.url}/sign`, msg, agent, headers)) === 200,
        close: () => agent.destroy(),
      };
    });
    // The same pattern straight on the agent, each client on its own kept connection
    // (signing and verifying, as the proxy does): how much of (e)'s tail is the
    // single-threaded agent's own queue.
    const eAgent = await fiftyArrivals(() => {
      const conn = AgentConnection.open(sock, timeouts);
      const id = conn.then(async (c) => (await c.listIdentities())[0]!);
      return {
        sign: async () => {
          const [c, key] = [await conn, await id];
          const data = signedData('git', msg);
          checkSignature(key.key, data, await c.sign(key.key.blob, data, signFlags(key.key)));
          return true;
        },
        close: () => void conn.then((c) => c.close()),
      };
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
      token: clientTokens[1]!,
    });
    // (f) SSH logins through the agent endpoint (bench/ssh-login.ts).
    const f = await benchSshLogin({
      dir,
      keyFile: join(dir, 'k'),
      agentSock: sock,
      proxyUrl: proxy.url,
      shim: SHIM,
      token: clientTokens[2]!,
      logins: Number(process.env.BENCH_LOGINS ?? 4),
    });
    proxy.child.kill('SIGTERM');
    keepAlive.destroy();
    pool.destroy();

    // (g) the audit modes, on two fresh proxies measured in alternating rounds.
    const modes = ['write', 'fsync'] as const;
    const byMode = await Promise.all(
      modes.map(async (mode) => {
        const cfg = join(dir, `cfg-${mode}`);
        const token = new TokenStore(cfg).create('bench');
        const p = await spawnProxy({ ...env, SSH_AGENT_PROXY_CONFIG_DIR: cfg }, undefined, {
          SSH_AGENT_PROXY_AUDIT_SYNC: mode,
        });
        const one = new HttpAgent({ keepAlive: true, maxSockets: 1 });
        const eight = new HttpAgent({ keepAlive: true, maxSockets: 8 });
        const headers = { ...named, Authorization: `Bearer ${token}` };
        const signOn = (agent: HttpAgent) => async () => {
          const status = await post(`${p.url}/sign`, msg, agent, headers);
          if (status !== 200) throw new Error(`sign failed (${mode}): HTTP ${status}`);
        };
        return {
          mode,
          p,
          one,
          eight,
          sign1: signOn(one),
          sign8: signOn(eight),
          b: [] as Timed[],
          c: [] as Timed[],
        };
      }),
    );
    for (const m of byMode) await timed(50, 1, m.sign1);
    for (let r = 0; r < ROUNDS; r++) {
      for (const m of byMode) {
        m.b.push(await timedRaw(SEQ / ROUNDS, 1, m.sign1));
        m.c.push(await timedRaw(CONC_TOTAL / ROUNDS, 8, m.sign8));
      }
    }
    const g = byMode.map((m) => {
      m.p.child.kill('SIGTERM');
      m.one.destroy();
      m.eight.destroy();
      return { mode: m.mode, b: pooled(m.b), c: pooled(m.c) };
    });

    const startMed = [...starts].sort((x, y) => x - y)[2]!;
    const pass = (ok: boolean) => (ok ? 'ok  ' : 'MISS');
    const lines = [
      `SSH Agent Proxy benchmark — Node ${process.version}, Ed25519 key in OpenSSH ssh-agent, ${new Date().toISOString()}`,
      '',
      `(a)  agent dial+list+sign, 1     ${fmt(a)}`,
      `     Ed25519 verify              p50 ${verifyStats.p50.toFixed(3)} ms`,
      `     /healthz keep-alive         ${fmt(health)}   the bare HTTP round trip`,
      `     floor of (b)                p50 ${floor.toFixed(2).padStart(7)} ms   /healthz + (a) + verify`,
      `(b)  /sign naming its key        ${fmt(b)}   ${(b.p50 / floor).toFixed(2)}× its floor, ${(b.p50 / a.p50).toFixed(2)}× (a)`,
      `     agent direct, 8 clients     ${fmt(a8)}   (with verification)`,
      `(c)  /sign 8 concurrent clients  ${fmt(c)}   ${(c.perSec / a8.perSec).toFixed(2)}× the agent at 8 direct clients`,
      `(e)  50 token clients at once    ${fmt(e.stats)}   p99 ${(e.stats.p99 / b.p50).toFixed(2)}× the single-client p50; ${e.errors} errors`,
      `     each client's first request p50 ${e.first.p50.toFixed(2).padStart(7)} ms  p99 ${e.first.p99.toFixed(2).padStart(7)} ms   (opens its connection); the later ones p99 ${e.later.p99.toFixed(2)} ms`,
      `     agent direct, same pattern  ${fmt(eAgent.stats)}   p99 ${(eAgent.stats.p99 / a.p50).toFixed(2)}× (a) p50: the agent's own queue; (e) p99 is ${(e.stats.p99 / eAgent.stats.p99).toFixed(2)}× it`,
      ...d.lines,
      ...f.lines,
      ...g.map(
        (m) =>
          `(g)  audit ${m.mode.padEnd(5)}  (b) p50 ${m.b.p50.toFixed(2).padStart(6)} ms = ${(m.b.p50 / floor).toFixed(2)}× its floor;  (c) ${m.c.perSec.toFixed(0).padStart(6)} signs/s = ${(m.c.perSec / a8.perSec).toFixed(2)}× the agent at 8`,
      ),
      '',
      `console process: idle RSS ${idleRss.toFixed(1)} MB, after load ${busyRss.toFixed(1)} MB; spawn → first 200 on /healthz: median ${startMed.toFixed(0)} ms of 5`,
      '',
      'targets:',
      `  ${pass(b.p50 <= 1.15 * floor)} (b) p50 ≤ 1.15× its floor       ${(b.p50 / floor).toFixed(2)}×`,
      `  ${pass(c.perSec >= 0.8 * a8.perSec)} (c) ≥ 0.8× agent at 8 clients ${(c.perSec / a8.perSec).toFixed(2)}×`,
      `  ${pass(e.errors === 0 && e.stats.p99 <= 3 * b.p50)} (e) p99 ≤ 3× single p50, no error ${(e.stats.p99 / b.p50).toFixed(2)}×, ${e.errors} errors`,
      `  ${pass(idleRss <= 50)} idle RSS ≤ 50 MB              ${idleRss.toFixed(1)} MB`,
      `  ${pass(startMed <= 100)} start ≤ 100 ms                ${startMed.toFixed(0)} ms`,
      ...d.targets,
      ...f.targets,
    ];
    console.log(lines.join('\n'));
  } finally {
    for (const c of children) c.kill('SIGTERM');
    agentProc.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
