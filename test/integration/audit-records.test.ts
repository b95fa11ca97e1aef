// The audit answers "how was this allowed", as a new user would ask it: a person's answer
// (once, or giving a grant — with the grant's scope, expiry and the answer that gave it),
// the grant used, each token by its id beside its name (create, revoke, expiry — an expiry
// recorded as an expiry), and a denied login recorded as a denial, not as an error. Read
// from the file, from `ssh-agent-proxy audit`, against a real agent and the built CLI.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Answer } from '../../src/core/approval/approval-broker.js';
import { readAudit, type AuditRecord } from '../../src/core/approval/audit.js';
import type { Logger } from '../../src/core/logger.js';
import { auditFiles, auditFileSink } from '../../src/log/audit-file.js';
import { upgradeAgent } from '../helpers/agent-bridge.js';
import { blobOfLine, exchange, signRequest } from '../helpers/agent-messages.js';
import { agentWithKey, commitObject, createToken, type AgentWithKey } from '../helpers/fixtures.js';
import { run, tempDir, waitFor } from '../helpers/openssh.js';
import { CLI, http, startTestProxy, type TestProxy } from '../helpers/proxy.js';

let a: AgentWithKey;
before(async () => {
  a = await agentWithKey();
});

const records = (cfg: string): AuditRecord[] => readAudit(auditFiles(cfg, 3), 10_000);

async function proxyIn(cfg: string, log?: Logger): Promise<TestProxy> {
  const tp = await startTestProxy(
    {
      SSH_AGENT_PROXY_UPSTREAM: a.agent.sock,
      SSH_AGENT_PROXY_APPROVAL: 'prompt',
      SSH_AGENT_PROXY_CONFIG_DIR: cfg,
      SSH_AGENT_PROXY_GRANT_MINUTES: '10',
    },
    log,
    { audit: auditFileSink(cfg, { maxBytes: 1 << 20, keep: 3 }) },
  );
  // A person is there (the test answers through the broker, as a prompter's view would).
  tp.proxy.broker.attach({ update() {} });
  return tp;
}

/** Sign `subject`, answering the prompt it raises with `answer` (null: no prompt expected). */
async function signAnswering(
  tp: TestProxy,
  auth: Record<string, string>,
  subject: string,
  answer: Answer | null,
): Promise<number> {
  const res = http(`${tp.url}/sign`, {
    method: 'POST',
    headers: auth,
    body: commitObject(subject),
  });
  if (answer) {
    await waitFor(() => tp.proxy.broker.queue().length > 0, 5_000, 'the prompt');
    tp.proxy.broker.answer({ id: tp.proxy.broker.queue()[0]!.id }, answer);
  }
  return (await res).status;
}

const cli = (cfg: string, ...args: string[]) =>
  run(process.execPath, [CLI, ...args, '--config-dir', cfg]);

describe('precise audit records', () => {
  it('says allow once vs a grant given (scope, expiry, answer) vs the grant used; tokens by id', async () => {
    const cfg = tempDir('sap-cfg-');
    const token = await createToken(cfg, 'box1');
    const tp = await proxyIn(cfg);
    const auth = { Authorization: `Bearer ${token}` };
    assert.equal(await signAnswering(tp, auth, 'once', 'allow-once'), 200);
    assert.equal(await signAnswering(tp, auth, 'grant', 'allow-for-grant'), 200);
    assert.equal(await signAnswering(tp, auth, 'under grant', null), 200);
    await tp.proxy.close(1_000);

    const recs = records(cfg);
    const created = recs.find((r) => r.outcome === 'token-created')!;
    assert.ok(created, JSON.stringify(recs));
    assert.equal(created.kind, 'token');
    assert.equal(created.client, 'box1');
    assert.match(created.clientId ?? '', /^[0-9a-f-]{36}$/);
    const id = created.clientId;
    const bySubject = (s: string) => recs.find((r) => (r.what ?? '').includes(`"${s}"`))!;
    const once = bySubject('once');
    assert.deepEqual(
      [once.decision, once.decidedBy, once.answer, once.grant, once.clientId],
      ['allowed', 'person', 'allow-once', null, id],
    );
    const gave = bySubject('grant');
    assert.equal(gave.answer, 'allow-for-grant');
    assert.match(gave.grant ?? '', /^[0-9a-f-]{36}$/);
    const used = bySubject('under grant');
    assert.deepEqual(
      [used.decision, used.decidedBy, used.answer, used.grant],
      ['allowed', 'grant', null, gave.grant],
    );
    const given = recs.find((r) => r.outcome === 'grant-given')!;
    assert.ok(given, JSON.stringify(recs));
    assert.equal(given.kind, 'grant');
    assert.equal(given.grant, gave.grant);
    assert.equal(given.clientId, id);
    assert.equal(given.namespace, 'git');
    assert.equal(given.key, a.key.fingerprint);
    assert.match(
      given.what ?? '',
      /^grant #[0-9a-f]{8} given by the answer "allow for 10 minutes": box1 with key .* in "git", until \d{4}-\d\d-\d\dT[\d:.]+Z, any number of signatures$/,
    );
    // The grant is recorded before the request it allowed.
    assert.ok(recs.indexOf(given) < recs.indexOf(gave));

    // Revoked and re-created under the same name: another id, and the audit tells them apart.
    assert.equal((await cli(cfg, 'token', 'revoke', 'box1')).code, 0);
    await createToken(cfg, 'box1');
    const after = records(cfg);
    const revoked = after.find((r) => r.outcome === 'token-revoked')!;
    assert.equal(revoked.clientId, id);
    const recreated = after.filter((r) => r.outcome === 'token-created').at(-1)!;
    assert.notEqual(recreated.clientId, id);

    // The same, readable.
    const printed = await cli(cfg, 'audit', '--tail', '20');
    assert.equal(printed.code, 0, printed.stderr);
    const short = id!.slice(0, 8);
    const lines = printed.stdout.trim().split('\n');
    const line = (re: RegExp) => lines.find((l) => re.test(l)) ?? assert.fail(printed.stdout);
    assert.match(line(/"once"/), new RegExp(`allowed by person: allow once {2}box1 #${short}`));
    assert.match(
      line(/"grant"/),
      /allowed by person: allow for a while \(gave grant #[0-9a-f]{8}\)/,
    );
    assert.match(line(/"under grant"/), /allowed by grant #[0-9a-f]{8}/);
    assert.match(
      line(/grant-given/),
      /grant #[0-9a-f]{8} given by the answer "allow for 10 minutes"/,
    );
    assert.match(line(/token-revoked/), new RegExp(`token-revoked {2}box1 #${short}`));
    assert.equal(lines.filter((l) => / token-created {2}box1 #/.test(l)).length, 2);
  });

  it('an expiry is recorded as an expiry: the token event and the request it ended', async () => {
    const cfg = tempDir('sap-cfg-');
    const token = await createToken(cfg, 'brief', '--expires', '4s');
    const tp = await proxyIn(cfg);
    const res = http(`${tp.url}/sign`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: commitObject('waits past its token'),
    });
    // Nobody answers: the token expires while its request waits for a person.
    assert.equal((await res).status, 401);
    await waitFor(
      () => records(cfg).some((r) => r.outcome === 'token-expired' && r.kind === 'token'),
      5_000,
      'the expiry record',
    );
    await tp.proxy.close(1_000);
    const recs = records(cfg);
    const req = recs.find((r) => (r.what ?? '').includes('"waits past its token"'))!;
    assert.deepEqual(
      [req.decision, req.decidedBy, req.outcome],
      ['denied', 'expired', 'token-expired'],
    );
    const ev = recs.find((r) => r.kind === 'token' && r.outcome === 'token-expired')!;
    assert.match(ev.what ?? '', /^token expired at \S+Z; its grants and pending prompts end$/);
    const printed = await cli(cfg, 'audit', '--tail', '5');
    assert.match(printed.stdout, /denied by token expired/);
    assert.doesNotMatch(printed.stdout, /revoked/);
  });

  it('a denied login is recorded as a denial, and logged as one, not as an unexpected error', async () => {
    const cfg = tempDir('sap-cfg-');
    const token = await createToken(cfg, 'box1');
    const lines: string[] = [];
    const keep = (lvl: string) => (m: string) => lines.push(`${lvl} ${m}`);
    const log: Logger = {
      debug: keep('debug'),
      info: keep('info'),
      warn: keep('warn'),
      error: keep('error'),
      level: 'debug',
    };
    const tp = await proxyIn(cfg, log);
    const up = await upgradeAgent(`${tp.url}/agent`, { Authorization: `Bearer ${token}` });
    assert.equal(up.status, 101, up.head);
    const answer = exchange(
      up.socket,
      signRequest(blobOfLine(a.key.line), Buffer.from('login bytes')),
    );
    await waitFor(() => tp.proxy.broker.queue().length > 0, 5_000, 'the prompt');
    tp.proxy.broker.answer({ id: tp.proxy.broker.queue()[0]!.id }, 'deny');
    assert.equal((await answer)[0], 5, 'SSH_AGENT_FAILURE');
    up.socket.destroy();
    await tp.proxy.close(1_000);
    const rec = records(cfg).find((r) => r.kind === 'request')!;
    assert.deepEqual(
      [rec.decision, rec.decidedBy, rec.answer, rec.outcome, rec.status],
      ['denied', 'person', 'deny', 'denied-by-user', 403],
    );
    assert.equal(lines.filter((l) => /unexpected error/.test(l)).length, 0, lines.join('\n'));
    assert.ok(!lines.some((l) => l.startsWith('error ')), lines.join('\n'));
    assert.ok(readFileSync(join(cfg, 'logs', 'audit.log'), 'utf8').includes('denied-by-user'));
  });
});
