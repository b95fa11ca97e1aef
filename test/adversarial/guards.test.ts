// Browser-facing guards: every case is refused before the body is read and before the
// agent is touched — proved by a recording relay in front of the real ssh-agent.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { before, describe, it } from 'node:test';
import { makeKey, startAgent, tempDir } from '../helpers/openssh.js';
import { http, startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { startRecordingRelay, type RecordingRelay } from '../helpers/recording-relay.js';

let relay: RecordingRelay;
let tp: TestProxy;
let port: string;

before(async () => {
  const dir = tempDir();
  const agent = await startAgent(dir);
  await agent.add(await makeKey(dir, 'ed25519'));
  relay = await startRecordingRelay(dir, agent.sock);
  tp = await startTestProxy({ SSH_AGENT_PROXY_UPSTREAM: relay.sock });
  port = new URL(tp.url).port;
});

/** Raw bytes on a socket: no client library adds or fixes headers for us. */
function raw(request: string): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(Number(port), '127.0.0.1', () => sock.write(request));
    let t = '';
    sock.on('data', (c: Buffer) => (t += c));
    sock.on('close', () => resolve(t));
    sock.on('error', () => resolve(t));
    setTimeout(() => sock.end(), 1_000).unref();
  });
}

const ROUTES: [string, string][] = [
  ['POST', '/sign'],
  ['GET', '/publickey'],
  ['GET', '/keys'],
];

describe('guards, with zero messages reaching the agent', () => {
  it('evil Host names → 421 on every route', async () => {
    for (const host of [
      'evil.example',
      `evil.example:${port}`,
      `127.0.0.1.nip.io:${port}`,
      `0.0.0.0:${port}`,
      `localhost.evil.example:${port}`,
      `127.0.0.1:${Number(port) + 1}`,
    ]) {
      for (const [method, path] of ROUTES) {
        const res = await http(`${tp.url}${path}`, {
          method,
          headers: { Host: host, 'Content-Type': 'text/plain' },
          body: method === 'POST' ? 'x' : undefined,
        });
        assert.equal(res.status, 421, `${host} ${path}`);
        assert.match(res.text, /^bad-host: /);
      }
    }
    assert.equal(relay.received.length, 0);
  });

  it('a missing Host → 400', async () => {
    const answer = await raw('POST /sign HTTP/1.0\r\nContent-Length: 1\r\n\r\nx');
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /missing-host: /);
    assert.equal(relay.received.length, 0);
  });

  it('Origin (null or cross-site, simple text/plain POSTs included) and Sec-Fetch-Site → 403 browser-refused', async () => {
    const cases: Record<string, string>[] = [
      { Origin: 'null' },
      { Origin: 'https://evil.example', 'Content-Type': 'text/plain' },
      { Origin: `http://127.0.0.1:${port}` },
      { 'Sec-Fetch-Site': 'cross-site' },
      { 'Sec-Fetch-Site': 'same-origin' },
    ];
    for (const headers of cases) {
      for (const [method, path] of ROUTES) {
        const res = await http(`${tp.url}${path}`, {
          method,
          headers,
          body: method === 'POST' ? 'x' : undefined,
        });
        assert.equal(res.status, 403, JSON.stringify(headers));
        assert.equal(res.text, 'browser-refused: requests from web browsers are refused\n');
        assert.equal(res.headers['access-control-allow-origin'], undefined);
      }
    }
    assert.equal(relay.received.length, 0);
  });

  it('a CORS / Private Network Access preflight gets no Access-Control-Allow-* header', async () => {
    const preflight = await http(`${tp.url}/sign`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://evil.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Private-Network': 'true',
      },
    });
    assert.equal(preflight.status, 403);
    const bare = await http(`${tp.url}/sign`, { method: 'OPTIONS' });
    assert.equal(bare.status, 405);
    for (const r of [preflight, bare]) {
      assert.deepEqual(
        Object.keys(r.headers).filter((h) => h.startsWith('access-control-')),
        [],
      );
    }
    assert.equal(relay.received.length, 0);
  });

  it('a body behind a refused guard is never read: the connection closes', async () => {
    const answer = await raw(
      `POST /sign HTTP/1.1\r\nHost: evil.example:${port}\r\nContent-Length: 1000000\r\n\r\n${'x'.repeat(100)}`,
    );
    assert.match(answer, /^HTTP\/1\.1 421 /);
    assert.match(answer, /Connection: close/i);
    assert.equal(relay.received.length, 0);
  });

  it('the legitimate request still works, and reaches the agent', async () => {
    const res = await http(`${tp.url}/sign`, { method: 'POST', body: 'legit' });
    assert.equal(res.status, 200);
    assert.ok(relay.received.length > 0);
  });
});
