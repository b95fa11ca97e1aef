// Which refusals may be only counted, and how many a source (and all sources together) may
// still have recorded one by one an interval: a flood from many tokens or addresses at once
// stays within the same bound as one, and no signature or person's answer is ever counted
// away.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditRecord } from '../../src/core/approval/audit.js';
import {
  isUndecidedRefusal,
  RECORDS_PER_INTERVAL,
  RECORDS_PER_SOURCE,
  RefusalSummary,
} from '../../src/core/approval/refusal-summary.js';

type Fields = Pick<AuditRecord, 'status' | 'decision' | 'decidedBy' | 'kind'>;
const rec = (f: Partial<Fields>): Fields => ({
  status: 403,
  decision: 'none',
  decidedBy: null,
  kind: 'request',
  ...f,
});

describe('refusals that may be only counted', () => {
  it('are refused requests no person answered: none, policy, shutdown, no approver, cancelled', () => {
    for (const by of [null, 'policy', 'shutdown', 'no-approver', 'cancelled', 'revoked'])
      assert.equal(
        isUndecidedRefusal(rec({ decision: by ? 'denied' : 'none', decidedBy: by })),
        true,
        String(by),
      );
  });

  it('never a signature, an allowed decision, a person’s answer, a prompt left unanswered or an event', () => {
    assert.equal(isUndecidedRefusal(rec({ status: 200 })), false);
    assert.equal(
      isUndecidedRefusal(rec({ status: 502, decision: 'allowed', decidedBy: 'grant' })),
      false,
    );
    assert.equal(isUndecidedRefusal(rec({ decision: 'denied', decidedBy: 'person' })), false);
    assert.equal(isUndecidedRefusal(rec({ decision: 'denied', decidedBy: 'timeout' })), false);
    for (const kind of ['token', 'grant', 'audit', 'refusals'] as const)
      assert.equal(isUndecidedRefusal(rec({ kind })), false, kind);
  });
});

describe('the allowance of refusals recorded one by one', () => {
  const source = (i: number) => ({
    id: `token t${i}`,
    name: `box${i}`,
    address: '127.0.0.1',
    token: { id: `t${i}` },
  });

  it('is RECORDS_PER_SOURCE per source, RECORDS_PER_INTERVAL in all, and starts again each interval', () => {
    const s = new RefusalSummary({ intervalMs: 3_600_000, emit: () => {} });
    try {
      let one = 0;
      for (let i = 0; i < 1000; i++) if (s.mayRecordIndividually(source(0))) one++;
      assert.equal(one, RECORDS_PER_SOURCE);
      // A thousand more tokens at once: the total holds.
      let all = one;
      for (let i = 1; i <= 1000; i++) if (s.mayRecordIndividually(source(i))) all++;
      assert.equal(all, RECORDS_PER_INTERVAL);
      s.flush();
      assert.equal(s.mayRecordIndividually(source(0)), true);
    } finally {
      s.close();
    }
  });

  it('counts the rest per source, under the token’s id', () => {
    const out: AuditRecord[] = [];
    const s = new RefusalSummary({ intervalMs: 3_600_000, emit: (r) => out.push(...r) });
    for (let i = 0; i < 5; i++) s.count(source(1), 'key-not-found');
    s.count(source(2), 'signing-paused');
    s.close();
    assert.deepEqual(
      out.map((r) => [r.client, r.clientId, r.what?.replace(/, .* to .*:/, ':')]),
      [
        ['box1', 't1', '5 requests refused before any decision: 5 key-not-found'],
        ['box2', 't2', '1 requests refused before any decision: 1 signing-paused'],
      ],
    );
  });
});
