// A token holder's refused agent-endpoint requests (bad-request, key-not-allowed,
// use-sign-endpoint, a refused login, paused, policy deny…) must neither skip the rate
// limit nor write a decision line each: one upgraded /agent connection could otherwise
// write records as fast as it sends frames (~2,300 a second, measured) and rotate the
// default 60 MiB of audit files — earlier signatures' records with them — in about a
// minute. Each sign request is charged to the client's rate bucket before any refusal,
// and a source's undecided refusals are recorded one by one only up to RECORDS_PER_SOURCE
// an interval; the rest are counted into the refusal summaries under the token's id.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { readAudit, type AuditRecord } from '../../src/core/approval/audit.js';
import { RECORDS_PER_SOURCE } from '../../src/core/approval/refusal-summary.js';
import {
  auditFiles,
  auditFileSink,
  refusalFiles,
  refusalFileSink,
} from '../../src/log/audit-file.js';
import { upgradeAgent } from '../helpers/agent-bridge.js';
import { agentWithKey, commitObject, createToken } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/openssh.js';
import { http, startTestProxy } from '../helpers/proxy.js';

const AUDIT_MAX = 64 * 1024;
const FRAMES = 1000;

/** A signature and then FRAMES SSHSIG sign requests over /agent (each refused use-sign-endpoint). */
async function flood(env: Record<string, string>) {
  const a = await agentWithKey();
  const cfg = tempDir('sap-cfg-');
  const token = await createToken(cfg, 'box1');
  const { proxy, url } = await startTestProxy(
    { SSH_AGENT_PROXY_UPSTREAM: a.agent.sock, SSH_AGENT_PROXY_CONFIG_DIR: cfg, ...env },
    undefined,
    {
      audit: auditFileSink(cfg, { maxBytes: AUDIT_MAX, keep: 1 }),
      refusals: refusalFileSink(cfg),
      // One interval for the whole flood: the counts below are exact.
      refusalIntervalMs: 3_600_000,
    },
  );
  const signed = await http(`${url}/sign`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}` },
    body: commitObject('the record that must stay'),
  });
  assert.equal(signed.status, 200, signed.text);

  const up = await upgradeAgent(`${url}/agent`, { Authorization: `Bearer ${token}` });
  assert.equal(up.status, 101, up.head);
  const blob = Buffer.from(a.key.line.split(' ')[1]!, 'base64');
  const str = (b: Buffer) => Buffer.concat([u32(b.length), b]);
  const sshsig = Buffer.concat([Buffer.from([13]), str(blob), str(Buffer.from('SSHSIG…')), u32(0)]);
  for (let i = 0; i < FRAMES; i++)
    assert.equal((await exchange(up.socket, sshsig))[0], 5, `frame ${i} was not refused`);
  up.socket.destroy();
  await proxy.close(1_000);

  const all = readAudit(auditFiles(cfg, 1), 1_000_000);
  assert.ok(
    all.some((r) => r.kind === 'request' && r.status === 200),
    `the signature's record was rotated away (outcomes: ${[...new Set(all.map((r) => r.outcome))].join(',')})`,
  );
  const tokenId = all.find((r) => r.outcome === 'token-created')?.clientId;
  assert.ok(tokenId);
  const summaries = readAudit(refusalFiles(cfg), 10_000);
  const mine = summaries.filter((r) => r.clientId === tokenId);
  assert.equal(mine.length, 1, JSON.stringify(summaries));
  return { all, summary: mine[0]!, requests: all.filter((r) => r.kind === 'request') };
}

const counted = (summary: AuditRecord, code: string): number =>
  Number(new RegExp(`\\b(\\d+) ${code}\\b`).exec(summary.what ?? '')?.[1] ?? 0);

describe('agent-endpoint refusals: the rate limit and the audit', () => {
  it('a token holder’s refused agent requests spend its rate bucket like its others', async () => {
    // 1 a minute past a burst of 5: the 6th request would wait a minute (more than the
    // 30 s a request may wait), so it and every later one is refused 429 at once.
    const BURST = 5;
    const { requests, summary } = await flood({
      SSH_AGENT_PROXY_RATE_LIMIT: '1',
      SSH_AGENT_PROXY_RATE_BURST: String(BURST),
    });
    const refused = requests.filter((r) => r.outcome === 'use-sign-endpoint').length;
    // The signature took one of the burst, the refusals the rest, however fast sent (one
    // more may have accrued on a slow machine).
    assert.ok(refused <= BURST, `${refused} use-sign-endpoint records past a burst of 5`);
    const limited = requests.filter((r) => r.outcome === 'rate-limited').length;
    assert.equal(limited, RECORDS_PER_SOURCE - refused);
    assert.equal(counted(summary, 'rate-limited'), FRAMES - refused - limited);
  });

  it('a token holder’s refusals no one decided: the first few recorded, the rest counted under its token', async () => {
    const { requests, summary } = await flood({ SSH_AGENT_PROXY_RATE_LIMIT: '0' });
    const refused = requests.filter((r) => r.outcome === 'use-sign-endpoint');
    assert.equal(refused.length, RECORDS_PER_SOURCE);
    assert.ok(refused.every((r) => r.client === 'box1' && r.clientId === summary.clientId));
    assert.equal(summary.client, 'box1');
    assert.match(
      summary.what ?? '',
      new RegExp(
        `^${FRAMES - RECORDS_PER_SOURCE} requests refused .*: ${FRAMES - RECORDS_PER_SOURCE} use-sign-endpoint$`,
      ),
    );
    // Nothing but the token's creation, the signature and the allowance reached the audit.
    assert.deepEqual(
      requests.filter((r) => r.outcome !== 'use-sign-endpoint').map((r) => r.status),
      [200],
    );
  });
});

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

function exchange(sock: Socket, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        sock.off('data', onData);
        sock.off('close', onClose);
        resolve(buf.subarray(4));
      }
    };
    const onClose = () => reject(new Error('closed'));
    sock.on('data', onData);
    sock.once('close', onClose);
    sock.resume();
    sock.write(Buffer.concat([u32(payload.length), payload]));
  });
}
