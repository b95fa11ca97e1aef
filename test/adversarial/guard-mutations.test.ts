// The /sign gate's guards, each attacked on its own (#20 items 12, 13, 14, 16, 20): a slip
// in the guard a test names — a flipped comparison, a dropped check, a lookup by name —
// makes that test fail. A real ssh-agent behind a relay that counts every SIGN_REQUEST.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ApprovalBroker } from '../../src/core/approval/approval-broker.js';
import { anonymousClient } from '../../src/core/approval/client.js';
import type { Clock } from '../../src/core/clock.js';
import { commitObject, relayedAgent, SIGN_REQUEST } from '../helpers/fixtures.js';
import { waitFor, type TestKey } from '../helpers/openssh.js';
import { http, startTestProxy } from '../helpers/proxy.js';
import { answerEach } from '../helpers/audited-proxy.js';
import type { RecordingRelay } from '../helpers/recording-relay.js';

let k1: TestKey;
let k2: TestKey;
let relay: RecordingRelay;

before(async () => {
  ({ key: k1, key2: k2, relay } = await relayedAgent(['k1', 'k2']));
});

const gate = (env: Record<string, string>) =>
  startTestProxy({
    SSH_AGENT_PROXY_UPSTREAM: relay.sock,
    SSH_AGENT_PROXY_NAMESPACES: 'git,file',
    ...env,
  });

const sign = (url: string, o: { key?: string; token?: string; query?: string; body?: Buffer }) =>
  http(`${url}/sign${o.query ?? ''}`, {
    method: 'POST',
    body: o.body ?? commitObject('guarded'),
    headers: {
      ...(o.key ? { 'X-SSH-Agent-Proxy-Key': o.key } : {}),
      ...(o.token ? { Authorization: `Bearer ${o.token}` } : {}),
    },
  });

describe('#20.12 a key named in full is held to the token’s key limits and the pin', () => {
  it('under policy allow: outside the token’s keys → 403, the agent never asked', async () => {
    const p = await gate({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
    const token = p.proxy.tokens.create('narrow', { keys: [k1.fingerprint] });
    const signs = relay.count(SIGN_REQUEST);
    const r = await sign(p.url, { key: k2.line, token });
    assert.equal(r.status, 403, r.text);
    assert.match(r.text, /^key-not-allowed: /);
    assert.equal(relay.count(SIGN_REQUEST), signs);
    assert.equal((await sign(p.url, { key: k1.line, token })).status, 200);
  });

  it('under policy allow: outside the pin → 403, the agent never asked', async () => {
    const p = await gate({ SSH_AGENT_PROXY_APPROVAL: 'allow', SSH_AGENT_PROXY_PUBKEY: k1.line });
    const signs = relay.count(SIGN_REQUEST);
    const r = await sign(p.url, { key: k2.line });
    assert.equal(r.status, 403, r.text);
    assert.match(r.text, /^key-not-allowed: /);
    assert.equal(relay.count(SIGN_REQUEST), signs);
  });

  it('under a grant given before the pin moved: the grant does not carry a key the pin now excludes', async () => {
    const p = await gate({ SSH_AGENT_PROXY_APPROVAL: 'prompt' });
    const seen = answerEach(p, 'allow-for-grant');
    assert.equal((await sign(p.url, { key: k2.line })).status, 200);
    assert.equal(seen.length, 1);
    p.proxy.applySettings({ pubkey: k1.line });
    const signs = relay.count(SIGN_REQUEST);
    const r = await sign(p.url, { key: k2.line });
    assert.equal(r.status, 403, r.text);
    assert.match(r.text, /^key-not-allowed: /);
    assert.equal(relay.count(SIGN_REQUEST), signs);
    assert.equal(seen.length, 1, 'nobody asked');
  });
});

/**
 * A /sign that waits for `100 Continue` — sent only once the token was checked — and
 * sends its body on `finish`: the request is authenticated before the test goes on.
 */
function authenticatedThenBody(port: number, token: string, body: Buffer) {
  let sock!: Socket;
  let data = '';
  let onContinue!: () => void;
  const continued = new Promise<void>((r) => (onContinue = r));
  const answer = new Promise<string>((resolve) => {
    sock = connect(port, '127.0.0.1', () => {
      sock.write(
        `POST /sign HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
      );
    });
    sock.on('data', (c: Buffer) => {
      data += c.toString('latin1');
      if (data.startsWith('HTTP/1.1 100 ')) onContinue();
    });
    sock.on('close', () => {
      onContinue();
      resolve(data);
    });
    sock.on('error', () => resolve(data));
  });
  return { continued, answer, finish: () => sock.write(body) };
}

describe('#20.13 a token revoked and re-created under the same name', () => {
  it('a /sign in flight under the old token does not ride the new one (401, the agent never asked)', async () => {
    const p = await gate({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
    const old = p.proxy.tokens.create('box');
    const port = Number(new URL(p.url).port);
    const inFlight = authenticatedThenBody(port, old, commitObject('in flight'));
    await inFlight.continued;
    assert.ok(p.proxy.revokeToken('box'));
    const fresh = p.proxy.tokens.create('box');
    const signs = relay.count(SIGN_REQUEST);
    inFlight.finish();
    const raw = await inFlight.answer;
    assert.match(raw, /HTTP\/1\.1 401 /, raw);
    assert.match(raw, /token-revoked/);
    assert.equal(relay.count(SIGN_REQUEST), signs);
    assert.equal((await sign(p.url, { token: fresh })).status, 200, 'the new token works');
  });
});

describe('#20.14 a namespace-limited token that leaves out ?namespace=', () => {
  it('the default namespace is checked against its limits too', async () => {
    const p = await gate({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
    const token = p.proxy.tokens.create('files', { namespaces: ['file'] });
    const signs = relay.count(SIGN_REQUEST);
    const r = await sign(p.url, { token });
    assert.equal(r.status, 403, r.text);
    assert.match(r.text, /^namespace-not-allowed: /);
    assert.equal(relay.count(SIGN_REQUEST), signs);
    assert.equal((await sign(p.url, { token, query: '?namespace=file' })).status, 200);
  });
});

describe('#20.16 the last token revoked', () => {
  it('anonymous callers stay refused while the store is readable, and after it is deleted or emptied', async () => {
    const p = await gate({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
    const token = p.proxy.tokens.create('only');
    assert.equal((await sign(p.url, { token })).status, 200);
    assert.ok(p.proxy.revokeToken('only'));
    const signs = relay.count(SIGN_REQUEST);
    const readable = await sign(p.url, {});
    assert.equal(readable.status, 401, readable.text);
    assert.match(readable.text, /^token-required: /);
    const store = join(p.configDir, 'tokens.json');
    writeFileSync(store, '{"version":1,"tokens":[]}\n', { mode: 0o600 });
    const emptied = await sign(p.url, {});
    assert.equal(emptied.status, 401, emptied.text);
    rmSync(store);
    const deleted = await sign(p.url, {});
    assert.equal(deleted.status, 401, deleted.text);
    assert.equal(relay.count(SIGN_REQUEST), signs);
  });
});

/** A POST /sign with a chunked body (no Content-Length), held open until the test ends. */
function chunkedSign(url: string, token: string, size: number): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: '/sign',
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Transfer-Encoding': 'chunked' },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', () => resolve(0));
    const body = commitObject('x'.repeat(size));
    req.write(body.subarray(0, 1000));
    req.end(body.subarray(1000));
  });
}

describe('#20.20 a chunked body is charged like a declared one', () => {
  it('against the per-client share and the whole budget (429 busy), while others wait for a person', async () => {
    // Budget 128 KiB, a client's share 64 KiB (the largest body).
    const p = await gate({
      SSH_AGENT_PROXY_APPROVAL: 'prompt',
      SSH_AGENT_PROXY_MAX_BODY: '64KiB',
      SSH_AGENT_PROXY_MAX_BODY_IN_FLIGHT: '128KiB',
    });
    p.proxy.broker.attach({ update() {} }); // a person who does not answer yet
    const [a, b, c] = ['a', 'b', 'c'].map((n) => p.proxy.tokens.create(n)) as [
      string,
      string,
      string,
    ];
    const pending = () => p.proxy.broker.queue().length;
    void chunkedSign(p.url, a, 60_000);
    await waitFor(() => pending() === 1, 10_000, 'a waiting for a person');
    // a's second body would take it past its share.
    let second = 0;
    void chunkedSign(p.url, a, 10_000).then((s) => (second = s));
    await waitFor(() => second !== 0 || pending() === 2, 10_000, 'an answer or a prompt');
    assert.equal(second, 429, 'a second chunked body past the client’s share is busy');
    void chunkedSign(p.url, b, 65_000);
    await waitFor(() => pending() === 2, 10_000, 'b waiting for a person');
    // About 125 KB held: c's 10 KB would pass the whole budget (128 KiB).
    let third = 0;
    void chunkedSign(p.url, c, 10_000).then((s) => (third = s));
    await waitFor(() => third !== 0 || pending() === 3, 10_000, 'an answer or a prompt');
    assert.equal(third, 429, 'a chunked body past the whole budget is busy');
    p.proxy.broker.setPolicy('deny'); // let the held requests go
  });
});

/** A clock the test moves by hand (the broker's own interface; no timers fire by themselves). */
function manualClock(): Clock & { t: number } {
  const c = {
    t: 1_000_000,
    now: () => c.t,
    setTimer: () => () => {},
  };
  return c;
}

describe('#20.20 the grant-expiry boundary', () => {
  it('a grant covers up to, not at, the moment it expires', async () => {
    const clock = manualClock();
    const broker = new ApprovalBroker({
      policy: 'prompt',
      timeoutMs: 60_000,
      grantMs: 600_000,
      grantMaxUses: 0,
      maxPending: 8,
      maxPendingPerClient: 8,
      clock,
    });
    const client = anonymousClient('127.0.0.1');
    const key = { fingerprint: 'SHA256:k', type: 'ssh-ed25519', comment: '', label: 'ED25519' };
    const prompted: string[] = [];
    broker.attach({
      update: (q) =>
        q.forEach((r) => {
          prompted.push(r.id);
          broker.answer({ id: r.id }, 'allow-for-grant');
        }),
    });
    const d = await broker.decide(client, key, 'git', {
      kind: 'data',
      size: 1,
      sha256: 'x',
      text: true,
    });
    assert.ok(d.allowed);
    assert.equal(prompted.length, 1);
    const start = clock.t;
    clock.t = start + 600_000 - 1;
    assert.ok(broker.decideWithoutPrompt(client, key, 'git')?.allowed, 'one ms before: covered');
    clock.t = start + 600_000;
    assert.equal(broker.decideWithoutPrompt(client, key, 'git'), null, 'at expiry: not covered');
  });
});
