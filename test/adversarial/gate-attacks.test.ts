// The approval gate attacked the way a hostile sandbox or a racing CLI would: a token
// that dies while its request is still arriving, a new token that reuses an old name, a
// token store deleted or emptied under a running proxy, anonymous callers changing their
// loopback address. A real ssh-agent sits behind a recording relay that counts every
// SIGN_REQUEST, so "the agent was never asked" is measured, not assumed.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { PendingRequest } from '../../src/core/approval/approval-broker.js';
import { TokenStore } from '../../src/core/approval/token-store.js';
import type { Logger } from '../../src/core/logger.js';
import { commitObject, createToken, relayedAgent, SIGN_REQUEST } from '../helpers/fixtures.js';
import { run, tempDir, waitFor, type TestKey } from '../helpers/openssh.js';
import { CLI, http, startTestProxy } from '../helpers/proxy.js';
import type { RecordingRelay } from '../helpers/recording-relay.js';

let k1: TestKey;
let k2: TestKey;
let relay: RecordingRelay;

before(async () => {
  ({ key: k1, key2: k2, relay } = await relayedAgent(['k1', 'k2']));
});

class HeldPrompter {
  queue: readonly PendingRequest[] = [];
  update(q: readonly PendingRequest[]) {
    this.queue = q;
  }
}

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const put = (s: string) => void lines.push(s);
  return { lines, debug: put, info: put, warn: put, error: put };
}

async function gate(env: Record<string, string> = {}, log?: Logger) {
  const configDir = env.SSH_AGENT_PROXY_CONFIG_DIR ?? join(tempDir('sap-cfg-'));
  const tp = await startTestProxy(
    {
      SSH_AGENT_PROXY_UPSTREAM: relay.sock,
      SSH_AGENT_PROXY_NAMESPACES: 'git,file',
      SSH_AGENT_PROXY_CONFIG_DIR: configDir,
      ...env,
    },
    log,
  );
  const prompter = new HeldPrompter();
  tp.proxy.broker.attach(prompter);
  return { ...tp, prompter, port: Number(new URL(tp.url).port) };
}

const cli = (configDir: string, ...args: string[]) =>
  run(process.execPath, [CLI, ...args, '--config-dir', configDir]);

/** A /sign whose body is sent in two parts: the first now, the rest when asked. */
function halfSent(port: number, path: string, token: string, body: Buffer) {
  let sock!: Socket;
  const answer = new Promise<string>((resolve) => {
    let data = '';
    sock = connect(port, '127.0.0.1', () => {
      sock.write(
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      );
      sock.write(body.subarray(0, 10));
    });
    sock.on('data', (c: Buffer) => (data += c.toString('latin1')));
    sock.on('close', () => resolve(data));
    sock.on('error', () => resolve(data));
  });
  return { answer, finish: () => sock.write(body.subarray(10)) };
}

const statusOf = (raw: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
const bodyOf = (raw: string) => raw.slice(raw.indexOf('\r\n\r\n') + 4);

describe('a request keeps the limits it was authenticated with', () => {
  it('a limited token revoked while its body arrives gets 401 token-revoked, never an unlimited signature', async () => {
    const g = await gate({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
    const token = await createToken(
      g.configDir,
      'box1',
      '--key',
      k1.fingerprint,
      '--namespace',
      'git',
      '--git-only',
    );
    const before = relay.count(SIGN_REQUEST);
    // Everything the token may not do: another key, another namespace, bytes that are no git object.
    const req = halfSent(
      g.port,
      `/sign?namespace=file&key=${encodeURIComponent(k2.fingerprint)}`,
      token,
      Buffer.from('definitely not a git object, but long enough to split\n'),
    );
    // The headers (and so the authentication) are in before the revocation.
    await waitFor(() => g.proxy.tokens.usable().length === 1, 5_000, 'token loaded');
    const revoked = await cli(g.configDir, 'token', 'revoke', 'box1');
    assert.equal(revoked.code, 0, revoked.stderr);
    req.finish();
    const raw = await req.answer;
    assert.equal(statusOf(raw), 401, raw);
    assert.match(bodyOf(raw), /^token-revoked: /);
    assert.equal(relay.count(SIGN_REQUEST), before, 'the agent was never asked to sign');
  });

  it('a token that expires while its body arrives gets 401 token-expired', async () => {
    const g = await gate({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
    const token = await createToken(g.configDir, 'brief', '--git-only', '--expires', '3s');
    const expiresAt = Date.parse(
      (
        JSON.parse(readFileSync(join(g.configDir, 'tokens.json'), 'utf8')) as {
          tokens: { expiresAt: string }[];
        }
      ).tokens[0]!.expiresAt,
    );
    const before = relay.count(SIGN_REQUEST);
    const req = halfSent(g.port, '/sign', token, Buffer.from('not a git object, split in two\n'));
    await waitFor(() => Date.now() > expiresAt + 5, 10_000, 'the token to expire');
    req.finish();
    const raw = await req.answer;
    assert.equal(statusOf(raw), 401, raw);
    assert.match(bodyOf(raw), /^token-expired: /);
    assert.equal(relay.count(SIGN_REQUEST), before);
  });

  it('a prompt shown for a token that is then revoked is withdrawn (401), and an answer racing the revocation signs nothing', async () => {
    const g = await gate({ SSH_AGENT_PROXY_APPROVAL: 'prompt' });
    const token = await createToken(g.configDir, 'box2');
    const before = relay.count(SIGN_REQUEST);
    const auth = { Authorization: `Bearer ${token}` };
    const first = http(`${g.url}/sign`, {
      method: 'POST',
      body: commitObject('one'),
      headers: auth,
    });
    await waitFor(() => g.prompter.queue.length === 1, 10_000, 'the prompt');
    assert.equal((await cli(g.configDir, 'token', 'revoke', 'box2')).code, 0);
    const r1 = await first;
    assert.equal(r1.status, 401, r1.text);
    assert.match(r1.text, /^token-revoked: /);
    assert.equal(g.prompter.queue.length, 0, 'the prompt is gone');

    // The person clicks "allow" in the same tick as another process revokes the token:
    // the poll has not run yet, the check before the agent has.
    const token3 = await createToken(g.configDir, 'box3');
    const second = http(`${g.url}/sign`, {
      method: 'POST',
      body: commitObject('two'),
      headers: { Authorization: `Bearer ${token3}` },
    });
    await waitFor(() => g.prompter.queue.length === 1, 10_000, 'the second prompt');
    new TokenStore(g.configDir).revoke('box3');
    g.proxy.broker.answer({ id: g.prompter.queue[0]!.id }, 'allow-once');
    const r2 = await second;
    assert.equal(r2.status, 401, r2.text);
    assert.match(r2.text, /^token-revoked: /);
    assert.equal(relay.count(SIGN_REQUEST), before, 'nothing was signed');
  });
});

describe('a revocation noticed by any request reaches the broker', () => {
  it("another token's request re-checking first still withdraws the revoked token's prompt", async () => {
    const g = await gate({
      SSH_AGENT_PROXY_APPROVAL: 'prompt',
      SSH_AGENT_PROXY_APPROVAL_TIMEOUT: '20',
    });
    const a = await createToken(g.configDir, 'tok-a');
    const b = await createToken(g.configDir, 'tok-b');
    const pendingA = http(`${g.url}/sign`, {
      method: 'POST',
      body: commitObject('a'),
      headers: { Authorization: `Bearer ${a}` },
    });
    await waitFor(() => g.prompter.queue.length === 1, 10_000, "A's prompt");
    // B is authenticated before the revocation; its re-check after the body is the first
    // to see the new file.
    const reqB = halfSent(g.port, '/sign', b, commitObject('b'));
    await waitFor(() => g.proxy.tokens.usable().length === 2, 5_000, 'tokens loaded');
    assert.equal((await cli(g.configDir, 'token', 'revoke', 'tok-a')).code, 0);
    reqB.finish();
    const rA = await pendingA;
    assert.equal(rA.status, 401, rA.text);
    assert.match(rA.text, /^token-revoked: /);
    await waitFor(() => g.prompter.queue.length === 1, 10_000, "B's prompt");
    g.proxy.broker.answer({ id: g.prompter.queue[0]!.id }, 'deny');
    assert.equal(statusOf(await reqB.answer), 403);
  });
});

describe('grants belong to a token, not a name', () => {
  it('a new token named like a revoked one rides none of its grants', async () => {
    const g = await gate({ SSH_AGENT_PROXY_APPROVAL: 'prompt' });
    const old = await createToken(g.configDir, 'box1');
    const sign = (t: string, subject: string) =>
      http(`${g.url}/sign`, {
        method: 'POST',
        body: commitObject(subject),
        headers: { Authorization: `Bearer ${t}` },
      });
    const first = sign(old, 'first');
    await waitFor(() => g.prompter.queue.length === 1, 10_000, 'the prompt');
    g.proxy.broker.answer({ id: g.prompter.queue[0]!.id }, 'allow-for-grant');
    assert.equal((await first).status, 200);
    assert.equal((await sign(old, 'under the grant')).status, 200, 'the grant works');
    assert.equal((await cli(g.configDir, 'token', 'revoke', 'box1')).code, 0);
    const impostor = await createToken(g.configDir, 'box1');
    const third = sign(impostor, 'impostor');
    await waitFor(
      () => g.prompter.queue.length === 1,
      10_000,
      'a prompt for the new token (not the old grant)',
    );
    assert.equal(g.proxy.broker.grants().length, 0, 'the revocation dropped the old grant');
    g.proxy.broker.answer({ id: g.prompter.queue[0]!.id }, 'deny');
    assert.equal((await third).status, 403);
  });

  it('expiry drops a token’s grants as revocation does', async () => {
    const g = await gate({ SSH_AGENT_PROXY_APPROVAL: 'prompt' });
    const t = await createToken(g.configDir, 'short', '--expires', '3s');
    const first = http(`${g.url}/sign`, {
      method: 'POST',
      body: commitObject('x'),
      headers: { Authorization: `Bearer ${t}` },
    });
    await waitFor(() => g.prompter.queue.length === 1, 10_000, 'the prompt');
    g.proxy.broker.answer({ id: g.prompter.queue[0]!.id }, 'allow-for-grant');
    assert.equal((await first).status, 200);
    assert.equal(g.proxy.broker.grants().length, 1);
    await waitFor(
      () => g.proxy.broker.grants().length === 0,
      15_000,
      'the grant to go with the token',
    );
  });
});

describe('the token store fails closed', () => {
  for (const [what, damage] of [
    ['deleted', (p: string) => rmSync(p)],
    ['emptied', (p: string) => writeFileSync(p, '{"version":1,"tokens":[]}\n')],
    ['truncated', (p: string) => writeFileSync(p, '')],
    ['corrupted', (p: string) => writeFileSync(p, '{"tokens": [ {"name": ')],
  ] as const) {
    it(`tokens.json ${what} under a running proxy: every request is 401 and the log says why`, async () => {
      const log = recordingLog();
      const g = await gate({ SSH_AGENT_PROXY_APPROVAL: 'allow' }, log);
      const token = await createToken(g.configDir, 'box');
      const ok = await http(`${g.url}/publickey`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      assert.equal(ok.status, 200);
      damage(join(g.configDir, 'tokens.json'));
      const withToken = await http(`${g.url}/sign`, {
        method: 'POST',
        body: commitObject('x'),
        headers: { Authorization: `Bearer ${token}` },
      });
      assert.equal(withToken.status, 401, withToken.text);
      await waitFor(() => /client tokens: /.test(log.lines.join('\n')), 10_000, 'the log line');
      const anonymous = await http(`${g.url}/sign`, { method: 'POST', body: commitObject('x') });
      assert.equal(anonymous.status, 401, anonymous.text);
      assert.match(log.lines.join('\n'), /client tokens: .*tokens\.json/);
    });
  }

  it('listening beyond loopback, a store deleted before any request still means 401', async () => {
    const configDir = join(tempDir('sap-cfg-'));
    const token = await createToken(configDir, 'wide');
    // 0.0.0.0 needs a token to start: one exists, then its file goes before any request.
    const g = await gate({
      SSH_AGENT_PROXY_APPROVAL: 'allow',
      SSH_AGENT_PROXY_ADDR: '0.0.0.0:0',
      SSH_AGENT_PROXY_CONFIG_DIR: configDir,
    });
    rmSync(join(configDir, 'tokens.json'));
    const before = relay.count(SIGN_REQUEST);
    const url = `http://127.0.0.1:${g.port}`;
    const anonymous = await http(`${url}/sign`, { method: 'POST', body: commitObject('a') });
    assert.equal(anonymous.status, 401, anonymous.text);
    const withToken = await http(`${url}/sign`, {
      method: 'POST',
      body: commitObject('b'),
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(withToken.status, 401, withToken.text);
    assert.equal(relay.count(SIGN_REQUEST), before, 'the agent was never asked');
    // The store itself, made for a proxy beyond loopback, requires tokens with no file at all.
    assert.equal(new TokenStore(tempDir(), { alwaysRequired: true }).required, true);
  });

  it('GET /keys lists only the keys the caller may use (token limits and the pin)', async () => {
    const g = await gate({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
    const limited = await createToken(g.configDir, 'one-key', '--key', k2.fingerprint);
    const r = await http(`${g.url}/keys`, { headers: { Authorization: `Bearer ${limited}` } });
    assert.equal(r.status, 200);
    assert.deepEqual(
      (JSON.parse(r.text) as { fingerprint: string }[]).map((k) => k.fingerprint),
      [k2.fingerprint],
    );
    const pinned = await gate({
      SSH_AGENT_PROXY_APPROVAL: 'allow',
      SSH_AGENT_PROXY_PUBKEY: readFileSync(k1.pub, 'utf8').trim(),
    });
    const p = await http(`${pinned.url}/keys`);
    assert.deepEqual(
      (JSON.parse(p.text) as { fingerprint: string }[]).map((k) => k.fingerprint),
      [k1.fingerprint],
    );
  });

  it('GET /shim stays open when tokens exist (it holds no secret); the rest needs one', async () => {
    const g = await gate();
    await createToken(g.configDir, 'box');
    assert.equal((await http(`${g.url}/shim`)).status, 200);
    assert.equal((await http(`${g.url}/publickey`)).status, 401);
  });
});

describe('refusals are recorded with what they were', () => {
  it('a revoked token is audited under its name, and each refused request logs its reason code', async () => {
    const log = recordingLog();
    const g = await gate({ SSH_AGENT_PROXY_APPROVAL: 'allow' }, log);
    const token = await createToken(g.configDir, 'gone');
    assert.equal((await cli(g.configDir, 'token', 'revoke', 'gone')).code, 0);
    const r = await http(`${g.url}/sign`, {
      method: 'POST',
      body: commitObject('x'),
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(r.status, 401);
    // Refused before admission: counted in the source's summary (written at the interval's end).
    await g.proxy.close(1_000);
    const rec = g.proxy.recent().at(-1)!;
    assert.equal(rec.client, 'gone');
    assert.equal(rec.kind, 'refusals');
    assert.match(rec.what ?? '', /^1 requests refused before any decision, .*: 1 token-revoked$/);
    assert.match(log.lines.join('\n'), /POST \/sign client="gone" status=401 code=token-revoked/);
    assert.ok(!log.lines.join('\n').includes(token), 'the token itself is never logged');
  });
});

describe('tokens cannot be lost to racing writers', () => {
  it('concurrent `token revoke` and `token create` processes: every reported revocation stays revoked', async () => {
    const cfg = tempDir('sap-race-');
    const names = Array.from({ length: 16 }, (_, i) => `old${i}`);
    for (const n of names) await createToken(cfg, n);
    const results = await Promise.all([
      ...names.map((n) => cli(cfg, 'token', 'revoke', n).then((r) => ({ op: 'revoke', n, r }))),
      ...names.map((_, i) =>
        cli(cfg, 'token', 'create', `new${i}`).then((r) => ({ op: 'create', n: `new${i}`, r })),
      ),
    ]);
    for (const { op, n, r } of results) assert.equal(r.code, 0, `${op} ${n}: ${r.stderr}`);
    const store = new TokenStore(cfg);
    const state = new Map(store.list().map((t) => [t.name, t.revokedAt ? 'revoked' : 'active']));
    for (const n of names) assert.equal(state.get(n), 'revoked', `${n} stays revoked`);
    for (let i = 0; i < names.length; i++)
      assert.equal(state.get(`new${i}`), 'active', `new${i} exists`);
  });
});

describe('limits cannot be dodged', () => {
  it('anonymous callers from 127.0.0.1 and 127.0.0.2 are one client (one pending limit)', async () => {
    const g = await gate({
      SSH_AGENT_PROXY_APPROVAL: 'prompt',
      SSH_AGENT_PROXY_MAX_PENDING_PER_CLIENT: '1',
    });
    const from = (localAddress: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port: g.port,
            method: 'POST',
            path: '/sign',
            localAddress,
            headers: { 'Content-Type': 'text/plain' },
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          },
        );
        req.on('error', reject);
        req.end(commitObject(localAddress));
      });
    const first = from('127.0.0.1');
    await waitFor(() => g.prompter.queue.length === 1, 10_000, 'the first prompt');
    const second = await from('127.0.0.2');
    assert.equal(second.status, 429, second.text);
    assert.match(second.text, /^too-many-pending: /);
    g.proxy.broker.answer({ id: g.prompter.queue[0]!.id }, 'deny');
    assert.equal((await first).status, 403);
  });
});
