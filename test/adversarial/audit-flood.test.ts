// No flood rotates a decision's record away, whoever floods. Two floods that no person ever
// sees must not write an audit line per request:
//  1. a token holder's refusals no one decided (404 key-not-found: ?key= names a key the
//     agent does not hold), each with a 600-code-point `what` from the commit subject;
//  2. an anonymous caller's requests while signing is paused: the pause refuses them
//     (decided by policy, not by a person), so they are refusals to count, not decisions.
// Each source's first few are recorded, the rest counted into refusals.log. Against an
// audit log of 64 KiB, one old file kept (the default 10 MiB × 6 falls the same way, later).
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readAudit, type AuditRecord } from '../../src/core/approval/audit.js';
import { RECORDS_PER_SOURCE } from '../../src/core/approval/refusal-summary.js';
import {
  auditFiles,
  auditFileSink,
  refusalFiles,
  refusalFileSink,
} from '../../src/log/audit-file.js';
import { agentWithKey, commitObject, createToken } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/openssh.js';
import { http, startTestProxy } from '../helpers/proxy.js';

const AUDIT_MAX = 64 * 1024;
const FLOOD = 200;

async function flood(send: () => Promise<number>, expected: number): Promise<void> {
  let left = FLOOD;
  const worker = async () => {
    while (left-- > 0) assert.equal(await send(), expected);
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

/** The signature's record is still there; the flood left its allowance and one summary. */
function signedRecordStays(cfg: string, code: string): { summary: AuditRecord } {
  const all = readAudit(auditFiles(cfg, 1), 1_000_000);
  const logs = join(cfg, 'logs');
  const bytes = statSync(join(logs, 'audit.log')).size;
  const lines = readFileSync(join(logs, 'audit.log'), 'utf8').split('\n').filter(Boolean);
  const ok = all.filter((r) => r.kind === 'request' && r.status === 200);
  assert.equal(
    ok.length,
    1,
    `the signature's record was rotated away by ${FLOOD} refused requests: ` +
      `audit.log now ${lines.length} lines / ${bytes} bytes; ` +
      `outcomes: ${[...new Set(all.map((r) => r.outcome))].join(',')}`,
  );
  const refused = all.filter((r) => r.outcome === code);
  assert.equal(refused.length, RECORDS_PER_SOURCE);
  const summaries = readAudit(refusalFiles(cfg), 10_000);
  assert.equal(summaries.length, 1, JSON.stringify(summaries));
  const rest = FLOOD - RECORDS_PER_SOURCE;
  assert.match(
    summaries[0]!.what ?? '',
    new RegExp(`^${rest} requests refused .*: ${rest} ${code}$`),
  );
  return { summary: summaries[0]! };
}

async function proxyWithAuditOf(cfg: string, agentSock: string) {
  return startTestProxy(
    { SSH_AGENT_PROXY_UPSTREAM: agentSock, SSH_AGENT_PROXY_CONFIG_DIR: cfg },
    undefined,
    {
      audit: auditFileSink(cfg, { maxBytes: AUDIT_MAX, keep: 1 }),
      refusals: refusalFileSink(cfg),
      // One interval for the whole flood: the counts are exact.
      refusalIntervalMs: 3_600_000,
    },
  );
}

// 600 four-byte code points: the `what` field's cap, ~2.4 KB a line.
const big = () => commitObject('\u{1F600}'.repeat(700));

describe('floods that would reach the decision log', () => {
  it('a token holder’s undecided refusals (404 key-not-found) do not rotate a signature’s record away', async () => {
    const a = await agentWithKey();
    const cfg = tempDir('sap-cfg-');
    const token = await createToken(cfg, 'box1');
    const { proxy, url } = await proxyWithAuditOf(cfg, a.agent.sock);
    const auth = { Authorization: `Bearer ${token}` };
    const signed = await http(`${url}/sign`, {
      method: 'POST',
      headers: auth,
      body: commitObject('the record that must stay'),
    });
    assert.equal(signed.status, 200, signed.text);
    const missing = `SHA256:${'A'.repeat(43)}`;
    const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 4 });
    await flood(async () => {
      const r = await http(`${url}/sign?key=${encodeURIComponent(missing)}`, {
        method: 'POST',
        headers: auth,
        body: big(),
        agent: keepAlive,
      });
      return r.status;
    }, 404);
    keepAlive.destroy();
    await proxy.close(1_000);
    const { summary } = signedRecordStays(cfg, 'key-not-found');
    // Counted under the token's name and id.
    const created = readAudit(auditFiles(cfg, 1), 1_000).find((r) => r.outcome === 'token-created');
    assert.equal(summary.client, 'box1');
    assert.equal(summary.clientId, created?.clientId);
  });

  it('an anonymous caller’s requests while signing is paused do not rotate a signature’s record away', async () => {
    const a = await agentWithKey();
    const cfg = tempDir('sap-cfg-');
    // No tokens: loopback callers are anonymous (`local`), approval allow by the opt-out.
    const { proxy, url } = await proxyWithAuditOf(cfg, a.agent.sock);
    const signed = await http(`${url}/sign`, {
      method: 'POST',
      body: commitObject('signed before the pause'),
    });
    assert.equal(signed.status, 200, signed.text);
    // The person pauses signing (suspecting something); a tokenless process floods.
    proxy.broker.setPaused(true);
    const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 4 });
    await flood(async () => {
      const r = await http(`${url}/sign`, { method: 'POST', body: big(), agent: keepAlive });
      return r.status;
    }, 503);
    keepAlive.destroy();
    await proxy.close(1_000);
    const { summary } = signedRecordStays(cfg, 'signing-paused');
    assert.equal(summary.client, 'local 127.0.0.1');
    assert.equal(summary.clientId, null);
  });
});
