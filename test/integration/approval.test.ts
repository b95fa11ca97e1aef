// The approval gate end to end: a real ssh-agent behind a recording relay, the real proxy,
// a test prompter that answers like a person, real ssh-keygen and git to check results.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  realClock,
  type Answer,
  type Clock,
  type PendingRequest,
} from '../../src/core/approval/approval-broker.js';
import { auditFileSink, auditPath } from '../../src/log/audit-file.js';
import { startConfiguredProxy } from '../../src/cli/start.js';
import { loadConfig } from '../../src/core/config/config.js';
import { silentLogger } from '../../src/core/logger.js';
import { onCleanup, run, tempDir, waitFor, type TestKey } from '../helpers/openssh.js';
import { http, SHIM, startTestProxy, type TestProxy, CLI } from '../helpers/proxy.js';
import { commitObject, createToken, relayedAgent, SIGN_REQUEST } from '../helpers/fixtures.js';
import type { RecordingRelay } from '../helpers/recording-relay.js';
import { assertFileMode, needsPosixShell } from '../helpers/platform.js';

let dir: string;
let key: TestKey;
let key2: TestKey;
let relay: RecordingRelay;

before(async () => {
  ({ dir, key, key2, relay } = await relayedAgent());
});

/** Answers like a person would: sees the queue, picks an answer. */
class ScriptedPrompter {
  queue: readonly PendingRequest[] = [];
  prompts = 0;
  private lastHead: string | undefined;
  constructor(private readonly choose: ((r: PendingRequest) => Answer | null) | null = null) {}
  update(q: readonly PendingRequest[]) {
    this.queue = q;
    const head = q[0];
    if (head && head.id !== this.lastHead) this.prompts++;
    this.lastHead = head?.id;
  }
  async next(): Promise<PendingRequest> {
    await waitFor(() => this.queue.length > 0, 5_000, 'a prompt');
    return this.queue[0]!;
  }
}

async function proxyWith(
  env: Record<string, string> = {},
  withAudit = false,
  clock?: Clock,
): Promise<TestProxy & { prompter: ScriptedPrompter }> {
  const configDir = env.SSH_AGENT_PROXY_CONFIG_DIR ?? tempDir('sap-cfg-');
  const tp = await startTestProxy(
    {
      SSH_AGENT_PROXY_UPSTREAM: relay.sock,
      SSH_AGENT_PROXY_APPROVAL: 'prompt',
      SSH_AGENT_PROXY_CONFIG_DIR: configDir,
      ...env,
    },
    undefined,
    {
      ...(withAudit ? { audit: auditFileSink(configDir, { maxBytes: 1 << 20, keep: 3 }) } : {}),
      ...(clock ? { clock } : {}),
    },
  );
  const prompter = new ScriptedPrompter();
  tp.proxy.broker.attach(prompter);
  return { ...tp, prompter };
}

const COMMIT = Buffer.from(
  'tree 4b825dc642cb6eb9a060e54bf8d69288fbe4904b\nparent 1111111111111111111111111111111111111111\nauthor Ana Example <ana@example.test> 1700000000 +0100\ncommitter Ana Example <ana@example.test> 1700000000 +0100\n\nFix login race\n\nLonger body.\n',
);

describe('approval, end to end', () => {
  it('a /sign waits for the prompt; approve → the signature verifies with ssh-keygen', async () => {
    const p = await proxyWith();
    const res = http(`${p.url}/sign`, { method: 'POST', body: COMMIT });
    const req = await p.prompter.next();
    assert.equal(req.description.kind, 'commit');
    if (req.description.kind === 'commit') {
      assert.equal(req.description.subject, 'Fix login race');
      assert.equal(req.description.author.name, 'Ana Example');
    }
    assert.equal(req.key.fingerprint, key.fingerprint);
    assert.equal(req.client.name, 'local 127.0.0.1');
    p.proxy.broker.answer({ id: req.id }, 'allow-once');
    const r = await res;
    assert.equal(r.status, 200, r.text);
    writeFileSync(join(dir, 'a.sig'), r.body);
    const v = await run(
      'ssh-keygen',
      ['-Y', 'check-novalidate', '-n', 'git', '-s', join(dir, 'a.sig')],
      { input: COMMIT },
    );
    assert.equal(v.code, 0, v.stderr);
  });

  it('deny → 403 with the reason, and no SIGN_REQUEST reaches the agent', async () => {
    const p = await proxyWith();
    const before = relay.count(SIGN_REQUEST);
    const res = http(`${p.url}/sign`, { method: 'POST', body: COMMIT });
    p.proxy.broker.answer({ id: (await p.prompter.next()).id }, 'deny');
    const r = await res;
    assert.equal(r.status, 403);
    assert.equal(r.text, 'denied-by-user: the request was denied in the approval prompt\n');
    assert.equal(relay.count(SIGN_REQUEST), before, 'the agent was never asked to sign');
  });

  it('policy deny and a paused proxy never reach the agent at all', async () => {
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'deny' });
    const n = relay.received.length;
    const r = await http(`${p.url}/sign`, { method: 'POST', body: COMMIT });
    assert.equal(r.status, 403);
    assert.match(r.text, /^policy-deny: /);
    p.proxy.broker.setPolicy('prompt');
    p.proxy.broker.setPaused(true);
    const paused = await http(`${p.url}/sign`, { method: 'POST', body: COMMIT });
    assert.equal(paused.status, 503);
    assert.equal(paused.text, 'signing-paused: signing is paused on the host\n');
    assert.equal(relay.received.length, n, 'no message of any kind reached the agent');
  });

  it('a grant → the next 5 signs need no prompt', async () => {
    const p = await proxyWith();
    const first = http(`${p.url}/sign`, { method: 'POST', body: COMMIT });
    p.proxy.broker.answer({ id: (await p.prompter.next()).id }, 'allow-for-grant');
    assert.equal((await first).status, 200);
    for (let i = 0; i < 5; i++)
      assert.equal((await http(`${p.url}/sign`, { method: 'POST', body: COMMIT })).status, 200);
    assert.equal(p.prompter.prompts, 1);
    // Another key is another grant.
    const other = http(`${p.url}/sign?key=${encodeURIComponent(key2.fingerprint)}`, {
      method: 'POST',
      body: COMMIT,
    });
    const req = await p.prompter.next();
    assert.equal(req.key.fingerprint, key2.fingerprint);
    p.proxy.broker.answer({ id: req.id }, 'deny');
    assert.equal((await other).status, 403);
  });

  it('timeout → 403 timed-out (the deadline timer fired by hand, no sleeping)', async () => {
    const timers: (() => void)[] = [];
    const clock: Clock = { now: realClock.now, setTimer: (fn) => (timers.push(fn), () => {}) };
    const p = await proxyWith({}, false, clock);
    const res = http(`${p.url}/sign`, { method: 'POST', body: COMMIT });
    await p.prompter.next();
    assert.equal(timers.length, 1);
    timers[0]!();
    const r = await res;
    assert.equal(r.status, 403);
    assert.equal(r.text, 'timed-out: no one answered the approval prompt within 60 s\n');
    assert.equal(p.proxy.recent().at(-1)!.decidedBy, 'timeout');
  });

  it('hanging up cancels the prompt', async () => {
    const p = await proxyWith();
    // Hang-up: the client goes away while its prompt shows.
    const ac = new AbortController();
    const gone = fetch(`${p.url}/sign`, { method: 'POST', body: COMMIT, signal: ac.signal }).catch(
      () => 'aborted',
    );
    await p.prompter.next();
    ac.abort();
    assert.equal(await gone, 'aborted');
    await waitFor(() => p.prompter.queue.length === 0, 5_000, 'the prompt to be withdrawn');
    const audit = p.proxy.recent().at(-1)!;
    assert.equal(audit.outcome, 'hung-up');
    assert.equal(audit.decidedBy, 'cancelled');
  });

  it('the audit log gets one JSON line per request, with no payload and no token', async (t) => {
    const cfg = tempDir('sap-cfg-');
    mkdirSync(cfg, { recursive: true });
    const token = await createToken(cfg, 'box1');
    const p = await proxyWith({ SSH_AGENT_PROXY_CONFIG_DIR: cfg }, true);
    const auth = { Authorization: `Bearer ${token}` };
    const ok = http(`${p.url}/sign`, { method: 'POST', body: COMMIT, headers: auth });
    p.proxy.broker.answer({ id: (await p.prompter.next()).id }, 'allow-once');
    assert.equal((await ok).status, 200);
    const no = http(`${p.url}/sign`, { method: 'POST', body: COMMIT, headers: auth });
    p.proxy.broker.answer({ id: (await p.prompter.next()).id }, 'deny');
    assert.equal((await no).status, 403);
    // Records are written off the request path; a clean shutdown writes every one.
    await p.proxy.close(1_000);
    const file = auditPath(cfg);
    const text = readFileSync(file, 'utf8');
    const all = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // The token's creation (by the CLI), then one line per request.
    assert.deepEqual(
      all.map((l) => l.kind),
      ['token', 'request', 'request'],
    );
    const lines = all.slice(1);
    assert.deepEqual(
      lines.map((l) => [
        l.client,
        l.key,
        l.namespace,
        l.decision,
        l.decidedBy,
        l.status,
        l.outcome,
      ]),
      [
        ['box1', key.fingerprint, 'git', 'allowed', 'person', 200, 'ok'],
        ['box1', key.fingerprint, 'git', 'denied', 'person', 403, 'denied-by-user'],
      ],
    );
    assert.match(
      String(lines[0]!.what),
      /^git commit "Fix login race" by Ana Example <ana@example.test> \(tree 4b825dc, parent 1111111\)$/,
    );
    assert.doesNotMatch(text, /Longer body/);
    assert.ok(!text.includes(token), 'no token in the audit log');
    assertFileMode(t, file, 0o600);
    const printed = await run(process.execPath, [CLI, 'audit', '--tail', '1', '--config-dir', cfg]);
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(
      printed.stdout,
      /403 denied-by-user {2}denied by person: deny {2}box1 #[0-9a-f]{8} {2}SHA256:\S+ {2}git {2}git commit "Fix login race"/,
    );
    assert.equal(printed.stdout.trim().split('\n').length, 1);
    // A restarted proxy shows the same records as recent activity.
    const again = await startConfiguredProxy(
      loadConfig({
        env: {
          SSH_AGENT_PROXY_CONFIG_DIR: cfg,
          SSH_AGENT_PROXY_ADDR: '127.0.0.1:0',
          SSH_AGENT_PROXY_UPSTREAM: relay.sock,
        },
      }),
      silentLogger,
    );
    onCleanup(() => again.close(100));
    assert.deepEqual(
      again.recent().map((r) => r.outcome),
      ['token-created', 'ok', 'denied-by-user'],
    );
  });
});

describe('client tokens', () => {
  it('missing, wrong, revoked, and limited to another key or namespace → 401/403', async () => {
    const cfg = tempDir('sap-cfg-');
    const good = await createToken(cfg, 'good');
    const limited = await createToken(
      cfg,
      'limited',
      '--key',
      key2.fingerprint,
      '--namespace',
      'git',
    );
    const doomed = await createToken(cfg, 'doomed');
    const p = await proxyWith({
      SSH_AGENT_PROXY_CONFIG_DIR: cfg,
      SSH_AGENT_PROXY_APPROVAL: 'allow',
      SSH_AGENT_PROXY_NAMESPACES: 'git,file',
    });
    const sign = (headers: Record<string, string>, q = '') =>
      http(`${p.url}/sign${q}`, { method: 'POST', body: COMMIT, headers });
    const none = await sign({});
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="ssh-agent-proxy"');
    assert.match(none.text, /^token-required: /);
    assert.match((await sign({ Authorization: 'Bearer sap_wrong' })).text, /^bad-token: /);
    assert.match((await sign({ Authorization: 'Basic abc' })).text, /^bad-token: /);
    assert.equal((await sign({ Authorization: `Bearer ${good}` })).status, 200);
    const lim = await sign({ Authorization: `Bearer ${limited}` });
    assert.equal(lim.status, 200, 'the first allowed key for this token is its own');
    writeFileSync(join(dir, 'lim.sig'), lim.body);
    assert.match(
      (
        await run(
          'ssh-keygen',
          ['-Y', 'check-novalidate', '-n', 'git', '-s', join(dir, 'lim.sig')],
          { input: COMMIT },
        )
      ).stdout,
      /ECDSA/,
    );
    const other = await sign(
      { Authorization: `Bearer ${limited}` },
      `?key=${encodeURIComponent(key.fingerprint)}`,
    );
    assert.equal(other.status, 403);
    assert.match(other.text, /^key-not-allowed: /);
    const ns = await sign({ Authorization: `Bearer ${limited}` }, '?namespace=file');
    assert.equal(ns.status, 403);
    assert.match(ns.text, /^namespace-not-allowed: the token "limited"/);
    const r = await run(process.execPath, [CLI, 'token', 'revoke', 'doomed', '--config-dir', cfg]);
    assert.equal(r.code, 0, r.stderr);
    const revoked = await sign({ Authorization: `Bearer ${doomed}` });
    assert.equal(revoked.status, 401);
    assert.match(revoked.text, /^token-revoked: /);
    // /healthz and /shim stay open; /publickey and /keys need the token.
    assert.equal((await http(`${p.url}/healthz`)).status, 200);
    assert.equal((await http(`${p.url}/keys`)).status, 401);
    assert.equal(
      (await http(`${p.url}/keys`, { headers: { Authorization: `Bearer ${good}` } })).status,
      200,
    );
  });

  it('an unknown token is 401 even when no tokens are configured; a token in the query is refused', async () => {
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'allow' });
    assert.equal(
      (
        await http(`${p.url}/sign`, {
          method: 'POST',
          body: 'x',
          headers: { Authorization: 'Bearer sap_nothing' },
        })
      ).status,
      401,
    );
    assert.equal((await http(`${p.url}/sign`, { method: 'POST', body: 'x' })).status, 200);
    assert.equal(
      (await http(`${p.url}/sign?access_token=abc`, { method: 'POST', body: 'x' })).status,
      400,
    );
  });

  it("revoking from the CLI drops the running proxy's grants and pending prompts at once", async () => {
    const cfg = tempDir('sap-cfg-');
    const token = await createToken(cfg, 'sbx');
    const p = await proxyWith({ SSH_AGENT_PROXY_CONFIG_DIR: cfg });
    const auth = { Authorization: `Bearer ${token}` };
    const first = http(`${p.url}/sign`, { method: 'POST', body: COMMIT, headers: auth });
    p.proxy.broker.answer({ id: (await p.prompter.next()).id }, 'allow-for-grant');
    assert.equal((await first).status, 200);
    assert.equal(p.proxy.broker.grants().length, 1);
    const waiting = http(`${p.url}/sign?key=${encodeURIComponent(key2.fingerprint)}`, {
      method: 'POST',
      body: COMMIT,
      headers: auth,
    });
    await p.prompter.next();
    assert.equal(
      (await run(process.execPath, [CLI, 'token', 'revoke', 'sbx', '--config-dir', cfg])).code,
      0,
    );
    const w = await waiting;
    assert.equal(w.status, 401);
    assert.match(w.text, /^token-revoked: /);
    assert.equal(p.proxy.broker.grants().length, 0);
  });

  it('the token file is mode 0600 and holds no token', async (t) => {
    const cfg = tempDir('sap-cfg-');
    const r = await run(process.execPath, [
      CLI,
      'token',
      'create',
      'x1',
      '--git-only',
      '--expires',
      '2h',
      '--config-dir',
      cfg,
    ]);
    const token = r.stdout.trim().split('\n').at(-1)!;
    assert.match(token, /^sap_[A-Za-z0-9_-]{43}$/);
    assert.equal(r.stdout.trim().split('\n').length, 1, 'stdout is the token alone');
    const file = join(cfg, 'tokens.json');
    assertFileMode(t, file, 0o600);
    assert.ok(!readFileSync(file, 'utf8').includes(token.slice(4)));
    const list = await run(process.execPath, [CLI, 'token', 'list', '--config-dir', cfg]);
    assert.match(
      list.stdout,
      /^x1\tactive\tcreated \S+\tany key; any namespace; git objects only; expires \S+\n$/,
    );
    const dup = await run(process.execPath, [CLI, 'token', 'create', 'x1', '--config-dir', cfg]);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /already exists/);
  });

  it('a --git-only token from the CLI signs commits and gets 422 not-a-git-object for other bytes', async () => {
    const cfg = tempDir('sap-cfg-');
    const token = await createToken(cfg, 'gitonly', '--git-only');
    const p = await proxyWith({
      SSH_AGENT_PROXY_CONFIG_DIR: cfg,
      SSH_AGENT_PROXY_APPROVAL: 'allow',
    });
    const headers = { Authorization: `Bearer ${token}` };
    const data = await http(`${p.url}/sign`, { method: 'POST', body: 'not a commit', headers });
    assert.equal(data.status, 422, data.text);
    assert.match(data.text, /^not-a-git-object: .*"gitonly"/);
    const commit = await http(`${p.url}/sign`, {
      method: 'POST',
      body: commitObject('git-only is no refusal of git'),
      headers,
    });
    assert.equal(commit.status, 200, commit.text);
  });
});

describe('git through the shim with one grant', { skip: needsPosixShell }, () => {
  it('20 signed commits in a loop → one prompt, 20 verified commits', async () => {
    const cfg = tempDir('sap-cfg-');
    const token = await createToken(cfg, 'rebase-box');
    const p = await proxyWith({ SSH_AGENT_PROXY_CONFIG_DIR: cfg });
    // Answers the first prompt with "allow for 10 minutes", and any later one with deny.
    p.proxy.broker.attach({
      update: (q) => {
        const head = q[0];
        if (head)
          setImmediate(() =>
            p.proxy.broker.answer(
              { id: head.id },
              p.prompter.prompts <= 1 ? 'allow-for-grant' : 'deny',
            ),
          );
      },
    });
    const home = join(dir, 'loop');
    const repo = join(home, 'repo');
    mkdirSync(repo, { recursive: true });
    const env = {
      PATH: process.env.PATH,
      HOME: home,
      GIT_CONFIG_NOSYSTEM: '1',
      SSH_AGENT_PROXY_URL: `${p.url}/sign`,
      SSH_AGENT_PROXY_TOKEN: token,
    };
    const git = (...a: string[]) => run('git', a, { env, cwd: repo });
    await git('init', '-q');
    for (const [k, v] of [
      ['user.name', 'Ana'],
      ['user.email', 'ana@example.test'],
      ['gpg.format', 'ssh'],
      ['gpg.ssh.program', SHIM],
      ['user.signingkey', key.pub],
      ['commit.gpgsign', 'true'],
      ['gpg.ssh.allowedSignersFile', join(home, 'allowed')],
    ]) {
      await git('config', k!, v!);
    }
    writeFileSync(join(home, 'allowed'), `ana@example.test ${key.line}\n`);
    for (let i = 0; i < 20; i++) {
      const c = await git('commit', '-q', '--allow-empty', '-m', `commit ${i}`);
      assert.equal(c.code, 0, c.stderr);
    }
    assert.equal(p.prompter.prompts, 1, 'one prompt for twenty commits');
    const revs = (await git('rev-list', 'HEAD')).stdout.trim().split('\n');
    assert.equal(revs.length, 20);
    for (const rev of revs) assert.equal((await git('verify-commit', rev)).code, 0);
    assert.deepEqual([...new Set(p.proxy.recent().map((r) => r.decidedBy))].sort(), [
      'grant',
      'person',
    ]);
  });
});
