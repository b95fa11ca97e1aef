// Floods and stalls against the proxy in its own process, loopback only, every loop
// bounded in count and time: held connections, slowloris headers and bodies, declared
// huge bodies, a client that never reads, 10,000 bad tokens. The proxy stays up, its
// memory stays bounded, /healthz keeps answering and a legitimate /sign still works.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { makeKey, onCleanup, startAgent, tempDir } from '../helpers/openssh.js';
import { createToken } from '../helpers/fixtures.js';
import { http, spawnConsole, type ConsoleProxy } from '../helpers/proxy.js';

let proxy: ConsoleProxy;
let port: number;
let token: string;
const floodTokens: string[] = [];
let agentSock: string;
let cfgDir: string;
const auth = () => ({ Authorization: `Bearer ${token}` });

before(async () => {
  const dir = tempDir();
  const agent = await startAgent(dir);
  await agent.add(await makeKey(dir, 'ed25519'));
  const cfg = join(dir, 'cfg');
  agentSock = agent.sock;
  cfgDir = cfg;
  token = await createToken(cfg, 'legit');
  for (let i = 0; i < 8; i++) floodTokens.push(await createToken(cfg, `flood${i}`));
  proxy = await spawnConsole({
    SSH_AUTH_SOCK: agent.sock,
    SSH_AGENT_PROXY_CONFIG_DIR: cfg,
    SSH_AGENT_PROXY_HEADERS_TIMEOUT: '2',
    SSH_AGENT_PROXY_BODY_TIMEOUT: '2',
  });
  port = Number(new URL(proxy.url).port);
});

/** The proxy's resident memory: /proc on Linux, ps(1) on macOS, Get-Process on Windows. */
function rssMb(pid = proxy.child.pid!): number {
  if (process.platform === 'linux') {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m![1]) / 1024;
  }
  if (process.platform === 'win32') {
    const ws = execFileSync(
      'powershell',
      ['-NoProfile', '-Command', `(Get-Process -Id ${pid}).WorkingSet64`],
      { encoding: 'utf8' },
    );
    return Number(ws.trim()) / 2 ** 20;
  }
  return (
    Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim()) /
    1024
  );
}

function open(to = port): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(to, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
    onCleanup(() => s.destroy());
  });
}

/** Resolves with the first thing the server sends (or '' if it closes first). */
function firstAnswer(s: Socket): Promise<string> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve('');
    s.once('data', (c: Buffer) => resolve(c.toString('latin1')));
    s.once('close', () => resolve(''));
  });
}

/** Resolves with what the server sent once it closes the socket (or `limitMs` passes). */
function untilClosed(s: Socket, limitMs: number): Promise<{ closed: boolean; data: string }> {
  return new Promise((resolve) => {
    // Closed already (to make room for newer connections of its address, connection-gate.ts).
    if (s.destroyed) return resolve({ closed: true, data: '' });
    let data = '';
    s.on('data', (c: Buffer) => (data += c));
    const timer = setTimeout(() => resolve({ closed: false, data }), limitMs);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, data });
    });
  });
}

async function healthy(): Promise<void> {
  const h = await http(`${proxy.url}/healthz`);
  assert.equal(h.status, 200);
}

async function legitSign(): Promise<void> {
  const r = await http(`${proxy.url}/sign`, { method: 'POST', body: 'legit', headers: auth() });
  assert.equal(r.status, 200, r.text);
}

describe('floods and stalls', () => {
  it('1,000 concurrent connections that never finish their headers: healthz and /sign still work, then they are dropped', async () => {
    const socks = await Promise.all(Array.from({ length: 1000 }, () => open()));
    for (const s of socks) s.write(`POST /sign HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
    await healthy();
    await legitSign();
    const ends = await Promise.all(socks.map((s) => untilClosed(s, 15_000)));
    assert.equal(
      ends.filter((e) => e.closed).length,
      1000,
      'every stalled connection was dropped: by the headers deadline, or to make room',
    );
    await healthy();
  });

  it('slowloris: headers trickled byte by byte are cut off; a stalled body gets 408', async () => {
    const s = await open();
    const line = `GET /publickey HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: `;
    s.write(line);
    const trickle = setInterval(() => s.writable && s.write('a'), 300);
    const headersEnd = await untilClosed(s, 10_000);
    clearInterval(trickle);
    assert.equal(headersEnd.closed, true);
    assert.match(headersEnd.data, /^HTTP\/1\.1 408 |^$/);

    const b = await open();
    b.write(
      `POST /sign HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nContent-Length: 100\r\n\r\nabc`,
    );
    const bodyEnd = await untilClosed(b, 10_000);
    assert.equal(bodyEnd.closed, true);
    assert.match(bodyEnd.data, /^HTTP\/1\.1 408 [\s\S]*body-timeout: /);
    await legitSign();
  });

  it('1,000 clients declaring 16 MiB bodies: all but a few are refused at once (429 busy), one client cannot take the whole budget, memory stays bounded', async () => {
    // A proxy of its own whose body deadline outlasts the test: an admitted request holds
    // its bytes until the test hangs up, so what is admitted cannot depend on how fast
    // this machine gets through the other 999.
    const held = await spawnConsole({
      SSH_AUTH_SOCK: agentSock,
      SSH_AGENT_PROXY_CONFIG_DIR: cfgDir,
      SSH_AGENT_PROXY_BODY_TIMEOUT: '600',
      // Room for all 1,000 from this one address (an eighth of the total each), so each is
      // answered by the body budget rather than closed to make room (connection-caps.test.ts).
      SSH_AGENT_PROXY_MAX_CONNECTIONS: '10000',
    });
    const heldPort = Number(new URL(held.url).port);
    const before = rssMb(held.child.pid!);
    // Eight tokens, 125 requests each, every one asking `Expect: 100-continue`: the proxy
    // says "100 Continue" only to a request it admits (guards passed, bytes reserved), so
    // each socket tells whether it was admitted or refused without any timing.
    // Each sends its request as soon as it is connected: a connection left silent while the
    // other 999 open (seconds, on a busy machine) is closed by the silent-connection deadline.
    const opened = await Promise.all(
      Array.from({ length: 1000 }, async (_, i) => {
        const s = await open(heldPort);
        s.write(
          `POST /sign HTTP/1.1\r\nHost: 127.0.0.1:${heldPort}\r\nAuthorization: Bearer ${floodTokens[i % 8]}\r\nExpect: 100-continue\r\nContent-Length: ${16 << 20}\r\n\r\n`,
        );
        return { s, answer: firstAnswer(s) };
      }),
    );
    const socks = opened.map((o) => o.s);
    const ends = await Promise.all(opened.map((o) => o.answer));
    const admitted = ends.filter((e) => /^HTTP\/1\.1 100 /.test(e)).length;
    const globalBusy = ends.filter((e) =>
      /^HTTP\/1\.1 429 [\s\S]*busy: too much request data is in flight/.test(e),
    ).length;
    const shareBusy = ends.filter((e) =>
      /^HTTP\/1\.1 429 [\s\S]*busy: this client already has its share/.test(e),
    ).length;
    const other = ends.filter((e) => !/^HTTP\/1\.1 (100|429) /.test(e));
    assert.deepEqual(other.slice(0, 3), [], 'each was admitted or refused with 429 busy');
    assert.equal(admitted + globalBusy + shareBusy, 1000);
    assert.equal(admitted, 4, `64 MiB / 16 MiB: exactly 4 held at once (${admitted})`);
    assert.ok(shareBusy > 0, 'a client over its share was refused');
    assert.ok(globalBusy > 0, 'the shared budget refused some');
    const after = rssMb(held.child.pid!);
    assert.ok(after < before + 150, `RSS ${before.toFixed(0)} → ${after.toFixed(0)} MB`);
    for (const s of socks) s.destroy();
    const h = await http(`${held.url}/healthz`);
    assert.equal(h.status, 200);
    await healthy();
    await legitSign();
  });

  it('a client that pipelines requests and never reads the answers does not grow memory without bound', async () => {
    const before = rssMb();
    const s = await open();
    s.pause(); // never read
    const req = `GET /shim HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;
    for (let i = 0; i < 5_000; i++) if (!s.write(req)) break;
    await new Promise((r) => setTimeout(r, 1_000));
    const after = rssMb();
    assert.ok(after < before + 100, `RSS ${before.toFixed(0)} → ${after.toFixed(0)} MB`);
    s.destroy();
    await healthy();
  });

  it('10,000 requests with bad tokens: all 401, and the proxy stays up', async () => {
    const agent = new HttpAgent({ keepAlive: true, maxSockets: 32 });
    let unauthorized = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < 10_000) {
          const i = next++;
          const r = await http(`${proxy.url}/sign`, {
            method: 'POST',
            body: 'x',
            headers: { Authorization: `Bearer sap_guess${i}` },
            agent,
          });
          if (r.status === 401) unauthorized++;
        }
      }),
    );
    agent.destroy();
    assert.equal(unauthorized, 10_000);
    await healthy();
    await legitSign();
    assert.ok(rssMb() < 200, `RSS ${rssMb().toFixed(0)} MB`);
  });

  it('nothing secret reached the log: no token, no payload', () => {
    const log = proxy.stderr();
    assert.ok(!log.includes(token), 'the token is not logged');
    assert.ok(!log.includes('sap_guess'), 'presented tokens are not logged');
    assert.doesNotMatch(log, /legit\b(?!")/);
  });
});
