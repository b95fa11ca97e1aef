// Every path through the broker, with an injected clock: nothing here sleeps.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ApprovalBroker,
  type BrokerOptions,
  type Clock,
  type Decision,
  type KeyInfo,
  type PendingRequest,
} from '../../src/core/approval/approval-broker.js';
import { describe as describeBytes } from '../../src/core/approval/describe.js';
import { anonymousClient, tokenClient, type ClientInfo } from '../../src/core/approval/client.js';
import { ProxyError } from '../../src/core/errors.js';

class FakeClock implements Clock {
  t = 1_000_000;
  private timers: { at: number; fn: () => void; live: boolean }[] = [];
  now() {
    return this.t;
  }
  setTimer(fn: () => void, ms: number) {
    const timer = { at: this.t + ms, fn, live: true };
    this.timers.push(timer);
    return () => void (timer.live = false);
  }
  advance(ms: number) {
    this.t += ms;
    for (const timer of this.timers) {
      if (timer.live && timer.at <= this.t) {
        timer.live = false;
        timer.fn();
      }
    }
  }
}

class TestPrompter {
  seen: PendingRequest[][] = [];
  update(q: readonly PendingRequest[]) {
    this.seen.push([...q]);
  }
  get last() {
    return this.seen.at(-1) ?? [];
  }
}

const tokenOf = (id: string, name: string) => ({
  id,
  name,
  keys: [],
  namespaces: [],
  gitOnly: false,
});
const alice: ClientInfo = tokenClient(tokenOf('t-alice', 'alice'), '127.0.0.1');
const bob: ClientInfo = anonymousClient('127.0.0.1');
const key: KeyInfo = {
  fingerprint: 'SHA256:aaa',
  type: 'ssh-ed25519',
  comment: 'k',
  label: 'ED25519',
};
const other: KeyInfo = { ...key, fingerprint: 'SHA256:bbb' };
const commit = describeBytes(
  Buffer.from(
    'tree 4b825dc642cb6eb9a060e54bf8d69288fbe4904b\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\nSubject\n',
  ),
);

function setup(over: Partial<BrokerOptions> = {}) {
  const clock = new FakeClock();
  const broker = new ApprovalBroker({
    policy: 'prompt',
    timeoutMs: 60_000,
    grantMs: 600_000,
    grantMaxUses: 0,
    maxPending: 10,
    maxPendingPerClient: 5,
    clock,
    ...over,
  });
  const prompter = new TestPrompter();
  broker.attach(prompter);
  return { clock, broker, prompter };
}

const ask = (b: ApprovalBroker, c = alice, k = key, ns = 'git', signal?: AbortSignal) =>
  b.decide(c, k, ns, commit, signal);

function denied(d: Decision, code: string, by: string) {
  assert.equal(d.allowed, false);
  if (d.allowed) return;
  assert.equal(d.error.code, code);
  assert.equal(d.by, by);
}

describe('approval broker', () => {
  it('allow once: the prompter sees the request, the answer resolves it, who decided is recorded', async () => {
    const { broker, prompter } = setup();
    const p = ask(broker);
    assert.equal(prompter.last.length, 1);
    const req = prompter.last[0]!;
    assert.equal(req.deadline - req.receivedAt, 60_000);
    assert.ok(broker.answer({ id: req.id }, 'allow-once'));
    assert.deepEqual(await p, { allowed: true, by: 'person' });
    assert.equal(prompter.last.length, 0);
    assert.equal(broker.answer({ id: req.id }, 'deny'), false, 'first answer wins');
  });

  it('deny → 403 denied-by-user', async () => {
    const { broker, prompter } = setup();
    const p = ask(broker);
    broker.answer({ id: prompter.last[0]!.id }, 'deny');
    const d = await p;
    denied(d, 'denied-by-user', 'person');
    if (!d.allowed) assert.equal(d.error.status, 403);
  });

  it('allow for N minutes creates a grant that covers the same client+key+namespace, then expires', async () => {
    const { broker, prompter, clock } = setup();
    const p = ask(broker);
    broker.answer({ id: prompter.last[0]!.id }, 'allow-for-grant');
    assert.equal((await p).allowed, true);
    assert.equal(broker.grants().length, 1);
    for (let i = 0; i < 5; i++) assert.deepEqual((await ask(broker)).allowed, true);
    assert.equal(prompter.last.length, 0, 'no prompt while the grant lives');
    assert.equal(broker.grants()[0]!.uses, 6);
    // Another key, namespace or client is not covered.
    ask(broker, alice, other);
    ask(broker, alice, key, 'file');
    ask(broker, bob);
    assert.equal(prompter.last.length, 3);
    clock.advance(600_001);
    assert.equal(broker.grants().length, 0, 'expired');
    const q = ask(broker);
    assert.equal(
      prompter.last.length,
      1,
      'the three others timed out meanwhile; a new prompt appears',
    );
    broker.answer({ id: prompter.last[0]!.id }, 'deny');
    denied(await q, 'denied-by-user', 'person');
  });

  it('a grant can be limited to a number of signatures, and revoked', async () => {
    const { broker, prompter } = setup({ grantMaxUses: 3 });
    const p = ask(broker);
    broker.answer({ id: prompter.last[0]!.id }, 'allow-for-grant');
    await p;
    assert.equal((await ask(broker)).allowed, true);
    assert.equal((await ask(broker)).allowed, true);
    ask(broker);
    assert.equal(prompter.last.length, 1, 'the fourth needs a prompt');
    const r = setup();
    const p2 = ask(r.broker);
    r.broker.answer({ id: r.prompter.last[0]!.id }, 'allow-for-grant');
    await p2;
    assert.ok(r.broker.revokeGrant(r.broker.grants()[0]!.id));
    ask(r.broker);
    assert.equal(r.prompter.last.length, 1);
  });

  it('timeout → timed-out, decided by timeout', async () => {
    const { broker, clock } = setup();
    const p = ask(broker);
    clock.advance(59_999);
    let settled = false;
    void p.then(() => (settled = true));
    await Promise.resolve();
    assert.equal(settled, false);
    clock.advance(1);
    denied(await p, 'timed-out', 'timeout');
  });

  it('the requester hanging up cancels its prompt', async () => {
    const { broker, prompter } = setup();
    const ac = new AbortController();
    const p = ask(broker, alice, key, 'git', ac.signal);
    assert.equal(prompter.last.length, 1);
    ac.abort();
    denied(await p, 'cancelled', 'cancelled');
    assert.equal(prompter.last.length, 0);
  });

  it('policy allow and deny need no person; paused refuses with 503 and denies what waits', async () => {
    const { broker, prompter } = setup({ policy: 'allow' });
    assert.deepEqual(await ask(broker), { allowed: true, by: 'policy' });
    broker.setPolicy('deny');
    denied(await ask(broker), 'policy-deny', 'policy');
    broker.setPolicy('prompt');
    const waiting = ask(broker);
    broker.setPaused(true);
    const d = await waiting;
    denied(d, 'signing-paused', 'policy');
    if (!d.allowed) assert.equal(d.error.status, 503);
    denied(await ask(broker), 'signing-paused', 'policy');
    broker.setPaused(false);
    ask(broker);
    assert.equal(prompter.last.length, 1);
  });

  it('policy allow asks for a tokenless client unless anyone was accepted on purpose', async () => {
    const { broker, prompter } = setup({ policy: 'allow' });
    assert.equal(broker.decideWithoutPrompt(bob, key, 'git'), null);
    const asked = ask(broker, bob);
    assert.equal(prompter.last.length, 1);
    assert.equal(prompter.last[0]!.client.id, bob.id);
    broker.answer({ id: prompter.last[0]!.id }, 'deny');
    denied(await asked, 'denied-by-user', 'person');
    assert.deepEqual(await ask(broker, alice), { allowed: true, by: 'policy' });

    const anyone = setup({ policy: 'allow', allowAnyLocalProcess: true });
    assert.deepEqual(await ask(anyone.broker, bob), { allowed: true, by: 'policy' });
    assert.equal(anyone.prompter.seen.flat().length, 0);
  });

  it('no prompter attached → no-approver', async () => {
    const broker = new ApprovalBroker({
      policy: 'prompt',
      timeoutMs: 1000,
      grantMs: 1000,
      grantMaxUses: 0,
      maxPending: 1,
      maxPendingPerClient: 1,
      clock: new FakeClock(),
    });
    denied(await ask(broker), 'no-approver', 'no-approver');
  });

  it('the queue is capped in total and per client (429)', () => {
    const { broker } = setup({ maxPending: 3, maxPendingPerClient: 2 });
    ask(broker);
    ask(broker);
    assert.throws(
      () => ask(broker),
      (e: unknown) =>
        e instanceof ProxyError && e.status === 429 && /this client already has 2/.test(e.message),
    );
    ask(broker, bob);
    assert.throws(
      () => ask(broker, tokenClient(tokenOf('t-carol', 'carol'), '127.0.0.1')),
      (e: unknown) => e instanceof ProxyError && e.status === 429,
    );
  });

  it('a group answer covers exactly the listed ids; several prompters see the same queue', async () => {
    const { broker, prompter } = setup();
    const second = new TestPrompter();
    broker.attach(second);
    const ps = [ask(broker), ask(broker), ask(broker), ask(broker, bob)];
    assert.equal(second.last.length, 4);
    const group = prompter.last[0]!.group;
    const listed = prompter.last.filter((r) => r.group === group).map((r) => r.id);
    assert.equal(listed.length, 3);
    // A request that joins the group after the person looked is not covered.
    const late = ask(broker);
    assert.ok(broker.answer({ ids: listed }, 'allow-once'));
    const results = await Promise.all(ps.slice(0, 3));
    assert.ok(results.every((d) => d.allowed));
    assert.equal(second.last.length, 2, 'bob and the late request still wait');
    assert.deepEqual(second.last.map((r) => r.client.name).sort(), [alice.name, bob.name].sort());
    broker.answer({ ids: second.last.map((r) => r.id) }, 'deny');
    denied(await late, 'denied-by-user', 'person');
  });

  it('a grant answer allows the listed requests and later ones, never one it did not list', async () => {
    const { broker, prompter } = setup();
    const ps = [ask(broker), ask(broker), ask(broker)];
    const [first, second, third] = prompter.last.map((r) => r.id);
    broker.answer({ ids: [first!, second!] }, 'allow-for-grant');
    const ds = await Promise.all(ps.slice(0, 2));
    assert.deepEqual(
      ds.map((d) => d.by),
      ['person', 'person'],
    );
    assert.deepEqual(
      prompter.last.map((r) => r.id),
      [third],
      'the unlisted one still waits for the person',
    );
    const later = await ask(broker);
    assert.equal(later.by, 'grant', 'a request after the answer rides the grant');
    broker.answer({ id: third! }, 'deny');
    denied(await ps[2]!, 'denied-by-user', 'person');
  });

  it('a grant belongs to the token, not its name: a new token named alike gets none of it', async () => {
    const { broker, prompter } = setup();
    const p = ask(broker);
    broker.answer({ id: prompter.last[0]!.id }, 'allow-for-grant');
    assert.equal((await p).by, 'person');
    assert.equal((await ask(broker)).by, 'grant');
    const impostor = tokenClient(tokenOf('t-alice-2', 'alice'), '127.0.0.1');
    const q = ask(broker, impostor);
    assert.equal(prompter.last.length, 1, 'the new token is asked about, not waved through');
    broker.answer({ id: prompter.last[0]!.id }, 'deny');
    denied(await q, 'denied-by-user', 'person');
  });

  it('revoking a token drops its grants and pending prompts', async () => {
    const { broker, prompter } = setup();
    const p = ask(broker);
    broker.answer({ id: prompter.last[0]!.id }, 'allow-for-grant');
    await p;
    const pending = ask(broker, alice, other);
    const bobs = ask(broker, bob);
    broker.revokeToken('t-alice');
    assert.equal(broker.grants().length, 0);
    denied(await pending, 'token-revoked', 'revoked');
    assert.equal(prompter.last.length, 1, "bob's request is untouched");
    broker.answer({ id: prompter.last[0]!.id }, 'allow-once');
    assert.equal((await bobs).allowed, true);
  });

  it('shutdown denies what waits with shutting-down and ends grants', async () => {
    const { broker } = setup();
    const p = ask(broker);
    broker.shutdown();
    denied(await p, 'shutting-down', 'shutdown');
    denied(await ask(broker), 'shutting-down', 'shutdown');
  });
});
