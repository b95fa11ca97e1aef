// A flood of refused requests from callers no one admitted (no token, a bad token, a
// browser) must not rotate a decision's record away: such refusals are counted and
// summarised per source per interval in a small file of their own. A real signature, then
// thousands of real tokenless HTTP requests against a proxy whose audit log rotates at
// 64 KiB, then a million more through the same counting layer: the signature's record is
// still there, and the logs folder stays within its bound.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readAudit } from '../../src/core/approval/audit.js';
import { RECORDS_PER_SOURCE, RefusalSummary } from '../../src/core/approval/refusal-summary.js';
import { upgradeAgent } from '../helpers/agent-bridge.js';
import { blobOfLine, exchange, signRequest } from '../helpers/agent-messages.js';
import {
  auditFiles,
  auditFileSink,
  refusalFiles,
  refusalFileSink,
  REFUSALS_KEEP,
  REFUSALS_MAX_BYTES,
} from '../../src/log/audit-file.js';
import { agentWithKey, commitObject, createToken } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/openssh.js';
import { http, startTestProxy } from '../helpers/proxy.js';

const AUDIT_MAX = 64 * 1024;

describe('refusal floods', () => {
  it('a million refused requests leave a signature’s record in place and the logs folder bounded', async () => {
    const a = await agentWithKey();
    const cfg = tempDir('sap-cfg-');
    const token = await createToken(cfg, 'box1');
    const refusals = refusalFileSink(cfg);
    const { proxy, url } = await startTestProxy(
      {
        SSH_AUTH_SOCK: a.agent.sock,
        SSH_AGENT_PROXY_UPSTREAM: a.agent.sock,
        SSH_AGENT_PROXY_CONFIG_DIR: cfg,
      },
      undefined,
      {
        audit: auditFileSink(cfg, { maxBytes: AUDIT_MAX, keep: 1 }),
        refusals,
      },
    );
    const signed = await http(`${url}/sign`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: commitObject('the record that must stay'),
    });
    assert.equal(signed.status, 200, signed.text);

    // The real HTTP part: refused before admission, several kinds, on kept connections.
    const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 4 });
    const kinds: [Record<string, string>, number][] = [
      [{}, 401],
      [{ Authorization: 'Bearer not-a-token' }, 401],
      [{ Origin: 'https://evil.example' }, 403],
    ];
    const HTTP_REFUSED = 3000;
    let sent = 0;
    const worker = async () => {
      while (sent < HTTP_REFUSED) {
        const [headers, status] = kinds[sent++ % kinds.length]!;
        const r = await http(`${url}/sign`, { method: 'POST', headers, agent: keepAlive });
        assert.equal(r.status, status, r.text);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    keepAlive.destroy();

    // The bulk, through the same counting layer into the same file: 997,000 more from a
    // thousand sources, summarised every 10,000 (a hundred intervals).
    const bulk = new RefusalSummary({
      intervalMs: 3_600_000,
      emit: (recs) => recs.forEach((r) => void refusals.write(r)),
    });
    const BULK = 1_000_000 - HTTP_REFUSED;
    for (let i = 0; i < BULK; i++) {
      const address = `10.0.${(i >> 8) & 3}.${i & 255}`;
      bulk.count({ id: `remote ${address}`, name: `local ${address}`, address }, 'token-required');
      if (i % 10_000 === 9_999) bulk.flush();
    }
    bulk.close();
    await proxy.close(1_000);

    // The signature's record is still there, and no refusal was recorded as a decision.
    const decisions = readAudit(auditFiles(cfg, 1), 1_000_000).filter((r) => r.kind === 'request');
    assert.deepEqual(
      decisions.map((r) => [r.status, r.outcome, r.client]),
      [[200, 'ok', 'box1']],
    );
    assert.match(decisions[0]!.what ?? '', /"the record that must stay"/);
    // The summaries say what was refused, per source.
    const summaries = readAudit(refusalFiles(cfg), 1_000_000);
    assert.ok(summaries.length > 0);
    assert.ok(summaries.every((r) => r.kind === 'refusals'));
    const http401 = summaries.find((r) => r.client === 'local 127.0.0.1');
    assert.ok(http401, JSON.stringify(summaries.slice(0, 3)));
    assert.match(http401.what ?? '', /^3000 requests refused before any decision, /);
    for (const code of ['token-required', 'bad-token', 'browser-refused'])
      assert.match(http401.what ?? '', new RegExp(`\\b1000 ${code}\\b`));
    // The bound: the audit files (decisions only) + the refusal files (2 MiB at most).
    const logs = join(cfg, 'logs');
    const total = readdirSync(logs).reduce((n, f) => n + statSync(join(logs, f)).size, 0);
    const bound = AUDIT_MAX * 2 + REFUSALS_MAX_BYTES * (REFUSALS_KEEP + 1) + 64 * 1024;
    assert.ok(total <= bound, `the logs folder holds ${total} bytes, more than ${bound}`);
    // The token's creation and the one decision: nothing else reached the audit file.
    assert.equal(
      readFileSync(join(logs, 'audit.log'), 'utf8').split('\n').filter(Boolean).length,
      2,
    );
  });

  it('an anonymous agent-endpoint caller’s refusals: a few recorded one by one, a flood only counted', async () => {
    const a = await agentWithKey();
    const cfg = tempDir('sap-cfg-');
    const { proxy, url } = await startTestProxy(
      { SSH_AGENT_PROXY_UPSTREAM: a.agent.sock, SSH_AGENT_PROXY_CONFIG_DIR: cfg },
      undefined,
      {
        audit: auditFileSink(cfg, { maxBytes: AUDIT_MAX, keep: 1 }),
        refusals: refusalFileSink(cfg),
      },
    );
    const up = await upgradeAgent(`${url}/agent`);
    assert.equal(up.status, 101, up.head);
    // SSHSIG data through the agent endpoint: refused (use-sign-endpoint) before any decision.
    const refused = signRequest(blobOfLine(a.key.line), Buffer.from('SSHSIG…'));
    const FLOOD = 200;
    for (let i = 0; i < FLOOD; i++) assert.equal((await exchange(up.socket, refused))[0], 5);
    up.socket.destroy();
    await proxy.close(1_000);
    const individual = readAudit(auditFiles(cfg, 1), 10_000).filter(
      (r) => r.outcome === 'use-sign-endpoint',
    );
    assert.equal(individual.length, RECORDS_PER_SOURCE);
    const summary = readAudit(refusalFiles(cfg), 10_000);
    assert.equal(summary.length, 1);
    assert.match(
      summary[0]!.what ?? '',
      new RegExp(
        `^${FLOOD - RECORDS_PER_SOURCE} requests refused .*: ${FLOOD - RECORDS_PER_SOURCE} use-sign-endpoint$`,
      ),
    );
  });
});
