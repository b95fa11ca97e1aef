// The record half of the promise, against a real agent and the real `--console` proxy in a
// child process: every signature answered 200 has its record in the audit file even when
// the proxy is killed (SIGKILL) the moment the answer arrives; and while the audit file
// cannot be written, nothing is signed (503 audit-unavailable, said once), until it can.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { upgradeAgent } from '../helpers/agent-bridge.js';
import { blobOfLine, exchange, signRequest } from '../helpers/agent-messages.js';
import { agentWithKey, commitObject, createToken, type AgentWithKey } from '../helpers/fixtures.js';
import { onCleanup, run, tempDir, waitFor } from '../helpers/openssh.js';
import { http, spawnConsole, type ConsoleProxy } from '../helpers/proxy.js';

let a: AgentWithKey;
before(async () => {
  a = await agentWithKey();
});

const auditLines = (cfg: string): Record<string, unknown>[] => {
  let text: string;
  try {
    text = readFileSync(join(cfg, 'logs', 'audit.log'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
};

async function consoleWithToken(
  env: Record<string, string> = {},
): Promise<{ p: ConsoleProxy; cfg: string; auth: Record<string, string> }> {
  const cfg = tempDir('sap-cfg-');
  const token = await createToken(cfg, 'box1');
  const p = await spawnConsole({
    SSH_AUTH_SOCK: a.agent.sock,
    SSH_AGENT_PROXY_UPSTREAM: a.agent.sock,
    SSH_AGENT_PROXY_CONFIG_DIR: cfg,
    ...env,
  });
  return { p, cfg, auth: { Authorization: `Bearer ${token}` } };
}

/** POST /sign; `onStatus` runs the moment the status line arrives, before the body is read. */
function sign(
  url: string,
  headers: Record<string, string>,
  body: Buffer,
  onStatus: (status: number) => void,
): Promise<number> {
  const u = new URL(`${url}/sign`);
  return new Promise((resolve) => {
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers },
      (res) => {
        onStatus(res.statusCode ?? 0);
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0)); // killed before it answered
    req.end(body);
  });
}

describe('audit durability', () => {
  it('a proxy killed with SIGKILL the moment a 200 arrives has written that signature’s record', async () => {
    for (const mode of ['write', 'fsync']) {
      for (let round = 0; round < 4; round++) {
        const { p, cfg, auth } = await consoleWithToken({ SSH_AGENT_PROXY_AUDIT_SYNC: mode });
        const answered: string[] = [];
        const subjects = Array.from({ length: 6 }, (_, i) => `${mode} round ${round} #${i}`);
        await Promise.all(
          subjects.map((s) =>
            sign(p.url, auth, commitObject(s), (status) => {
              if (status !== 200) return;
              answered.push(s);
              // At once, in the callback of the first 200: no later step of the proxy runs.
              p.child.kill('SIGKILL');
            }),
          ),
        );
        await p.stop('SIGKILL');
        assert.ok(answered.length >= 1, `${mode}: at least one signature was answered`);
        const recorded = auditLines(cfg)
          .filter((r) => r.status === 200)
          .map((r) => String(r.what));
        for (const s of answered)
          assert.ok(
            recorded.some((w) => w.includes(`"${s}"`)),
            `${mode}: the signature "${s}" was answered 200 but has no audit record: ${JSON.stringify(recorded)}`,
          );
      }
    }
  });

  it('an unwritable audit log stops signing (503 audit-unavailable, said once) until it is writable again', async () => {
    const { p, cfg, auth } = await consoleWithToken();
    const post = (s: string) =>
      http(`${p.url}/sign`, { method: 'POST', headers: auth, body: commitObject(s) });
    assert.equal((await post('before')).status, 200);
    // The logs folder replaced by a file: no write, no mkdir can succeed (modes would not stop root).
    const logs = join(cfg, 'logs');
    rmSync(logs, { recursive: true, force: true });
    writeFileSync(logs, 'not a folder');
    for (let i = 0; i < 3; i++) {
      const r = await post(`while broken ${i}`);
      assert.equal(r.status, 503, r.text);
      assert.match(r.text, /^audit-unavailable: /);
      assert.equal(r.text.trim().split('\n').length, 1);
    }
    await waitFor(() => /cannot write the audit log/.test(p.stderr()), 5_000, 'the log line');
    const said = p.stderr().match(/cannot write the audit log/g) ?? [];
    assert.equal(said.length, 1, p.stderr());
    // Fixed: it recovers by itself, saying so in the log and in the audit.
    rmSync(logs, { force: true });
    mkdirSync(logs, { mode: 0o700 });
    const back = await post('after');
    assert.equal(back.status, 200, back.text);
    await waitFor(
      () => /the audit log can be written again/.test(p.stderr()),
      5_000,
      'the log line saying it is back',
    );
    const lines = auditLines(cfg);
    assert.deepEqual(
      lines.map((l) => [l.outcome, l.kind]),
      [
        ['audit-resumed', 'audit'],
        ['ok', 'request'],
      ],
    );
    assert.match(String(lines[0]!.what), /; 3 requests were refused meanwhile$/);
    assert.match(String(lines[1]!.what), /"after"/);
    await p.stop();
  });

  it('a full disk (a small tmpfs filled up) stops signing with 503 audit-unavailable; freeing space brings it back', async (t) => {
    const cfg = tempDir('sap-tmpfs-');
    const mounted = await run('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', cfg]);
    if (mounted.code !== 0) return t.skip('cannot mount a tmpfs here (needs root)');
    onCleanup(() => run('umount', ['-l', cfg]));
    const token = await createToken(cfg, 'box1');
    const auth = { Authorization: `Bearer ${token}` };
    const p = await spawnConsole({
      SSH_AUTH_SOCK: a.agent.sock,
      SSH_AGENT_PROXY_UPSTREAM: a.agent.sock,
      SSH_AGENT_PROXY_CONFIG_DIR: cfg,
    });
    const post = (s: string) =>
      http(`${p.url}/sign`, { method: 'POST', headers: auth, body: commitObject(s) });
    assert.equal((await post('before')).status, 200);
    // Fill every free block (bounded: the tmpfs is 256 KiB).
    const filler = join(cfg, 'filler');
    const block = Buffer.alloc(4096, 0x61);
    for (let i = 0; i < 128; i++) {
      try {
        appendFileSync(filler, block);
      } catch {
        break;
      }
    }
    // The audit file's last page may still have room: sign until a write finds none.
    let r = await post('disk full 0');
    for (let i = 1; i < 50 && r.status === 200; i++) r = await post(`disk full ${i}`);
    assert.equal(r.status, 503, r.text);
    assert.match(r.text, /^audit-unavailable: /);
    await waitFor(
      () => /cannot write the audit log \(ENOSPC/.test(p.stderr()),
      5_000,
      'the log line saying why',
    );
    rmSync(filler);
    assert.equal((await post('space again')).status, 200);
    await p.stop();
    const outcomes = auditLines(cfg).map((l) => l.outcome);
    assert.deepEqual(outcomes.slice(0, 2), ['token-created', 'ok']);
    assert.deepEqual(outcomes.slice(-2), ['audit-resumed', 'ok']);
  });

  it('an unwritable audit log: a login on an open /agent connection gets no signature, a new /agent connection 503', async () => {
    const { p, cfg, auth } = await consoleWithToken();
    const up = await upgradeAgent(`${p.url}/agent`, auth);
    assert.equal(up.status, 101, up.head);
    const login = signRequest(blobOfLine(a.key.line), Buffer.from('opaque data to sign'));
    assert.equal((await exchange(up.socket, login))[0], SSH_AGENT_SIGN_RESPONSE);
    const logs = join(cfg, 'logs');
    rmSync(logs, { recursive: true, force: true });
    writeFileSync(logs, 'not a folder');
    assert.equal((await exchange(up.socket, login))[0], SSH_AGENT_FAILURE);
    const second = await upgradeAgent(`${p.url}/agent`, auth);
    second.socket.destroy();
    assert.equal(second.status, 503, second.head);
    assert.match(second.rest.toString(), /^audit-unavailable: /);
    rmSync(logs, { force: true });
    mkdirSync(logs, { mode: 0o700 });
    assert.equal(
      (await http(`${p.url}/sign`, { method: 'POST', headers: auth, body: commitObject('x') }))
        .status,
      200,
    );
    const third = await upgradeAgent(`${p.url}/agent`, auth);
    assert.equal(third.status, 101, third.head);
    assert.equal((await exchange(third.socket, login))[0], SSH_AGENT_SIGN_RESPONSE);
    third.socket.destroy();
    up.socket.destroy();
    await p.stop();
  });
});

const SSH_AGENT_FAILURE = 5;
const SSH_AGENT_SIGN_RESPONSE = 14;
