// Finding the program costs a walk of /proc on Linux — ≈ 170 ms on a loaded machine — and
// the shim opens a new connection per signature. A request no person is asked about does
// not wait for it: it records what was known (or that the lookup had not ended). A request
// put to a person waits, so the prompt names the program. The finder here is one that
// answers only when the test says so: a slow lookup no real process can be made to give on
// cue.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { PendingRequest } from '../../src/core/approval/approval-broker.js';
import type { AuditRecord } from '../../src/core/approval/audit.js';
import type { PeerFinder, PeerProcess } from '../../src/core/peer/peer-process.js';
import { agentWithKey, commitObject, type AgentWithKey } from '../helpers/fixtures.js';
import { http, startTestProxy } from '../helpers/proxy.js';

let fx: AgentWithKey;
before(async () => {
  fx = await agentWithKey();
});

const GIT: PeerProcess = { pid: 4242, name: 'git', parents: [{ pid: 4241, name: 'bash' }] };

/** A finder whose lookups end only on `release` (its budget is far beyond any test). */
function heldFinder() {
  let release!: (p: PeerProcess | undefined) => void;
  const released = new Promise<PeerProcess | undefined>((r) => (release = r));
  let asked!: (signal: AbortSignal) => void;
  const wasAsked = new Promise<AbortSignal>((r) => (asked = r));
  const finder: PeerFinder = {
    method: 'held',
    budgetMs: 10 * 60_000,
    find: (_conn, signal) => {
      asked(signal);
      return released;
    },
  };
  return { finder, release, wasAsked };
}

async function proxyWith(env: Record<string, string>, finder: PeerFinder) {
  const audit: AuditRecord[] = [];
  const p = await startTestProxy({ SSH_AGENT_PROXY_UPSTREAM: fx.agent.sock, ...env }, undefined, {
    audit: { write: (r) => void audit.push(r) },
    peerFinder: finder,
  });
  return { ...p, audit };
}

const sign = (url: string) =>
  http(`${url}/sign?namespace=git`, {
    method: 'POST',
    headers: { Connection: 'close' },
    body: commitObject('one'),
  });

describe('the program lookup and requests no one is asked about', () => {
  it('policy allow signs without waiting for an unfinished lookup; the audit says it was pending', async () => {
    const held = heldFinder();
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'allow' }, held.finder);
    try {
      const r = await sign(p.url);
      assert.equal(r.status, 200, r.text);
      await held.wasAsked;
      assert.equal(p.audit.length, 1);
      assert.equal(p.audit[0]!.program ?? null, null);
      assert.equal(p.audit[0]!.programPending, true);
    } finally {
      held.release(undefined);
    }
  });

  it('a connection that ended stops its unfinished lookup (no walk of /proc for nobody)', async () => {
    const held = heldFinder();
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'allow' }, held.finder);
    try {
      const r = await sign(p.url); // Connection: close — the shim's one request per connection
      assert.equal(r.status, 200, r.text);
      const signal = await held.wasAsked;
      if (!signal.aborted)
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      assert.equal(signal.aborted, true);
    } finally {
      held.release(undefined);
    }
  });

  it('policy allow records the program when the lookup has already ended', async () => {
    const finder: PeerFinder = { method: 'quick', find: () => Promise.resolve(GIT) };
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'allow' }, finder);
    const r = await sign(p.url);
    assert.equal(r.status, 200, r.text);
    assert.equal(p.audit[0]!.program, 'git (pid 4242) ← bash');
    assert.equal(p.audit[0]!.programPending, undefined);
  });

  it('a request put to a person waits for the lookup, and the prompt names the program', async () => {
    const held = heldFinder();
    const p = await proxyWith({ SSH_AGENT_PROXY_APPROVAL: 'prompt' }, held.finder);
    const seen: PendingRequest[] = [];
    p.proxy.broker.attach({
      update(queue) {
        for (const q of queue) {
          if (seen.some((s) => s.id === q.id)) continue;
          seen.push(q);
          p.proxy.broker.answer({ id: q.id }, 'allow-once');
        }
      },
    });
    const answer = sign(p.url);
    await held.wasAsked;
    // Not yet put to the person: the lookup has not ended.
    assert.equal(seen.length, 0);
    held.release(GIT);
    const r = await answer;
    assert.equal(r.status, 200, r.text);
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0]!.client.program, GIT);
    assert.equal(p.audit[0]!.program, 'git (pid 4242) ← bash');
  });
});
