// HTTP behaviour of the routes: status codes, one-line error bodies, limits, keep-alive.
import assert from 'node:assert/strict';
import { Agent as HttpAgent, request, type ClientRequest } from 'node:http';
import { connect } from 'node:net';
import { before, describe, it } from 'node:test';
import { localSocketPath, makeKey, startAgent, tempDir, type Agent } from '../helpers/openssh.js';
import { http, SHIM, startTestProxy } from '../helpers/proxy.js';
import { readFileSync } from 'node:fs';
import { needsPrivateAgent } from '../helpers/platform.js';

let agent: Agent;
let url: string;
let port: string;

before(async () => {
  const dir = tempDir();
  agent = await startAgent(dir);
  await agent.add(await makeKey(dir, 'ed25519'));
  url = (
    await startTestProxy({
      SSH_AGENT_PROXY_UPSTREAM: agent.sock,
      SSH_AGENT_PROXY_MAX_BODY: '64KiB',
      SSH_AGENT_PROXY_BODY_TIMEOUT: '1',
    })
  ).url;
  port = new URL(url).port;
});

function oneLine(text: string, code: string) {
  assert.match(text, new RegExp(`^${code}: [^\\n]+\\n$`), text);
}

describe('routes', () => {
  it('GET /healthz → ok', async () => {
    const res = await http(`${url}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(res.text, 'ok\n');
  });

  it('GET /shim serves the container shim', async () => {
    const res = await http(`${url}/shim`);
    assert.equal(res.status, 200);
    assert.equal(res.text, readFileSync(SHIM, 'utf8'));
    assert.match(res.headers['content-type'] ?? '', /shellscript/);
  });

  it('wrong method → 405 with Allow', async () => {
    const res = await http(`${url}/sign`);
    assert.equal(res.status, 405);
    assert.equal(res.headers.allow, 'POST');
    oneLine(res.text, 'method-not-allowed');
    assert.equal((await http(`${url}/publickey`, { method: 'POST', body: 'x' })).status, 405);
  });

  it('unknown path → 404', async () => {
    const res = await http(`${url}/nope`);
    assert.equal(res.status, 404);
    oneLine(res.text, 'not-found');
  });

  it('empty body → 400', async () => {
    const res = await http(`${url}/sign`, { method: 'POST', body: '' });
    assert.equal(res.status, 400);
    oneLine(res.text, 'empty-body');
  });

  /** POST /sign with `headers`, writing the body with `send`; resolves with the answer. */
  function streamingPost(
    headers: Record<string, string>,
    send: (req: ClientRequest) => void,
  ): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const u = new URL(`${url}/sign`);
      const req = request(
        { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers },
        (r) => {
          let t = '';
          r.on('data', (c: Buffer) => (t += c));
          r.on('end', () => resolve({ status: r.statusCode!, text: t }));
        },
      );
      req.on('error', () => {}); // the proxy may close while we still write
      send(req);
      setTimeout(() => reject(new Error('no answer')), 5_000).unref();
    });
  }

  it('too large by Content-Length → 413 before the body is read', async () => {
    // Declare 1 MiB but send nothing: the answer must come without waiting for the body.
    const res = await streamingPost({ 'Content-Length': String(1 << 20) }, (req) =>
      req.flushHeaders(),
    );
    assert.equal(res.status, 413);
    oneLine(res.text, 'too-large');
  });

  it('too large while streaming (chunked, no Content-Length) → 413', async () => {
    const res = await streamingPost({ 'Transfer-Encoding': 'chunked' }, (req) => {
      const chunk = Buffer.alloc(16 * 1024, 1);
      let sent = 0;
      const pump = () => {
        while (sent < 256 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    assert.equal(res.status, 413);
    oneLine(res.text, 'too-large');
  });

  /** One write holding a whole request (the body arrives with the headers); the raw answer. */
  function wholeRequest(to: string, head: string, body: Buffer): Promise<string> {
    return new Promise((resolve) => {
      const sock = connect(Number(to), '127.0.0.1', () => {
        sock.write(Buffer.concat([Buffer.from(head), body]));
      });
      let t = '';
      sock.on('data', (c: Buffer) => (t += c.toString('latin1')));
      sock.on('close', () => resolve(t));
    });
  }
  const chunked = (body: Buffer, size: number) => {
    const parts: Buffer[] = [];
    for (let i = 0; i < body.length; i += size) {
      const c = body.subarray(i, i + size);
      parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
    }
    return Buffer.concat([...parts, Buffer.from('0\r\n\r\n')]);
  };

  it('a whole request in one write: the same limits, the same signature', async () => {
    // A small limit, so that an oversized body still arrives with its headers in one read.
    const small = new URL(
      (
        await startTestProxy({
          SSH_AGENT_PROXY_UPSTREAM: agent.sock,
          SSH_AGENT_PROXY_MAX_BODY: '1KiB',
        })
      ).url,
    ).port;
    const head = (extra: string) =>
      `POST /sign HTTP/1.1\r\nHost: 127.0.0.1:${small}\r\n${extra}Connection: close\r\n\r\n`;
    const te = head('Transfer-Encoding: chunked\r\n');
    const big = await wholeRequest(small, te, chunked(Buffer.alloc(1025, 1), 100));
    assert.match(big, /^HTTP\/1\.1 413 [\s\S]*\r\n\r\ntoo-large: [^\n]+\n$/);
    const ok = await wholeRequest(small, te, chunked(Buffer.from('hello, chunks'), 4));
    assert.match(ok, /^HTTP\/1\.1 200 [\s\S]*-----BEGIN SSH SIGNATURE-----/);
    const exact = await wholeRequest(
      small,
      head('Content-Length: 1024\r\n'),
      Buffer.alloc(1024, 2),
    );
    assert.match(exact, /^HTTP\/1\.1 200 /);
  });

  it('a body that stalls past the deadline → 408', async () => {
    const answer = await new Promise<string>((resolve) => {
      const sock = connect(Number(port), '127.0.0.1', () => {
        sock.write(
          `POST /sign HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 10\r\n\r\nabc`,
        );
      });
      let t = '';
      sock.on('data', (c: Buffer) => (t += c));
      sock.on('close', () => resolve(t));
    });
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.match(answer, /\r\n\r\nbody-timeout: [^\n]+\n$/);
  });

  it('bad ?key= and ?namespace= → 400/403, unknown and repeated parameters → 400', async () => {
    const cases: [string, number, string][] = [
      ['/sign?key=garbage', 400, 'bad-key'],
      ['/sign?key=SHA256%3Atooshort', 400, 'bad-key'],
      ['/sign?namespace=has%20space', 400, 'bad-namespace'],
      ['/sign?namespace=file', 403, 'namespace-not-allowed'],
      ['/sign?colour=blue', 400, 'bad-query'],
      ['/sign?namespace=git&namespace=git', 400, 'bad-query'],
      ['/sign?token=abc', 400, 'bad-query'],
    ];
    for (const [path, status, code] of cases) {
      const res = await http(`${url}${path}`, { method: 'POST', body: 'x' });
      assert.equal(res.status, status, `${path}: ${res.text}`);
      oneLine(res.text, code);
    }
  });

  it('keep-alive: several requests on one connection', async () => {
    const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    for (let i = 0; i < 5; i++) {
      const res = await http(`${url}/sign`, { method: 'POST', body: `m${i}`, agent: keepAlive });
      assert.equal(res.status, 200);
    }
    keepAlive.on('free', (s) => sockets.add(s));
    await http(`${url}/healthz`, { agent: keepAlive });
    assert.equal(Object.values(keepAlive.freeSockets).flat().length, 1);
    keepAlive.destroy();
  });
});

describe('guards', () => {
  it('Origin (even null) and Sec-Fetch-Site → 403 browser-refused', async () => {
    for (const headers of [
      { Origin: 'null' },
      { Origin: 'https://evil.example' },
      { 'Sec-Fetch-Site': 'cross-site' },
    ]) {
      const res = await http(`${url}/sign`, { method: 'POST', headers, body: 'x' });
      assert.equal(res.status, 403);
      oneLine(res.text, 'browser-refused');
    }
  });

  it('Node fetch (which sends Sec-Fetch-Mode) is a normal client', async () => {
    const res = await fetch(`${url}/publickey`);
    assert.equal(res.status, 200);
  });

  it('Host must be an allowed name with this port', async () => {
    for (const host of [
      `evil.example:${port}`,
      `127.0.0.1.nip.io:${port}`,
      `0.0.0.0:${port}`,
      '127.0.0.1:1',
      '127.0.0.1',
    ]) {
      const res = await http(`${url}/publickey`, { headers: { Host: host } });
      assert.equal(res.status, 421, host);
      oneLine(res.text, 'bad-host');
    }
    for (const host of [
      `localhost:${port}`,
      `host.docker.internal:${port}`,
      `[::1]:${port}`,
      `LOCALHOST:${port}`,
    ]) {
      assert.equal((await http(`${url}/healthz`, { headers: { Host: host } })).status, 200, host);
    }
  });

  it('a missing Host → 400', async () => {
    const answer = await new Promise<string>((resolve) => {
      const sock = connect(Number(port), '127.0.0.1', () =>
        sock.write('GET /healthz HTTP/1.0\r\n\r\n'),
      );
      let t = '';
      sock.on('data', (c: Buffer) => (t += c));
      sock.on('close', () => resolve(t));
    });
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /missing-host: /);
  });
});

describe('upstream problems', () => {
  it('upstream missing → 503 naming the path', async () => {
    const missing = localSocketPath(tempDir(), 'no-such.sock');
    const p = await startTestProxy({ SSH_AGENT_PROXY_UPSTREAM: missing });
    const res = await http(`${p.url}/sign`, { method: 'POST', body: 'x' });
    assert.equal(res.status, 503);
    assert.equal(
      res.text,
      `agent-unreachable: no agent socket at ${missing}; check that the agent is running, or set SSH_AGENT_PROXY_UPSTREAM\n`,
    );
  });

  it('agent with no keys → 503 no-keys', { skip: needsPrivateAgent }, async () => {
    const dir = tempDir();
    const empty = await startAgent(dir);
    const p = await startTestProxy({ SSH_AGENT_PROXY_UPSTREAM: empty.sock });
    for (const path of ['/sign', '/publickey']) {
      const res = await http(
        `${p.url}${path}`,
        path === '/sign' ? { method: 'POST', body: 'x' } : {},
      );
      assert.equal(res.status, 503);
      oneLine(res.text, 'no-keys');
    }
    assert.equal((await http(`${p.url}/keys`)).text.trim(), '[]');
  });
});
