import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProxyError } from '../../src/core/errors.js';
import { ByteBudget, RateLimiter } from '../../src/core/http/limits.js';
import { ManualClock } from '../helpers/manual-clock.js';

const settled = async (p: Promise<unknown>) => {
  let state = 'pending';
  p.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  await new Promise((r) => setImmediate(r));
  return state;
};

const rateLimited = (e: unknown) =>
  e instanceof ProxyError && e.status === 429 && e.code === 'rate-limited';

describe('limits', () => {
  it('the byte budget admits up to its limit and takes bytes back', () => {
    const b = new ByteBudget(100);
    assert.equal(b.take('a', 60), null);
    assert.match(b.take('b', 50) ?? '', /too much/);
    assert.equal(b.take('b', 40), null);
    b.give('a', 60);
    assert.equal(b.inUse, 40);
    assert.equal(b.take('a', 60), null);
  });

  it('one client cannot hold more than its share of the budget, so others still get in', () => {
    const b = new ByteBudget(64, 16);
    assert.equal(b.take('hog', 16), null);
    assert.match(b.take('hog', 16) ?? '', /its share/);
    for (const other of ['x', 'y', 'z']) assert.equal(b.take(other, 16), null);
    b.give('hog', 16);
    assert.equal(b.heldBy('hog'), 0);
  });

  it('within its burst a client goes straight through; past it, requests wait their turn', async () => {
    const clock = new ManualClock();
    const r = new RateLimiter({ perMinute: 60, burst: 3, queue: 2, maxWaitMs: 30_000 }, clock);
    for (let i = 0; i < 3; i++) assert.equal(await settled(r.admit('a')), 'resolved');
    const fourth = r.admit('a');
    const fifth = r.admit('a');
    assert.equal(await settled(fourth), 'pending', 'slowed, not refused');
    await assert.rejects(r.admit('a'), rateLimited, 'past the queue: refused at once');
    assert.equal(await settled(r.admit('b')), 'resolved', 'another client has its own bucket');
    clock.advance(1_000);
    assert.equal(await settled(fourth), 'resolved');
    assert.equal(await settled(fifth), 'pending', 'first come, first served');
    clock.advance(1_000);
    assert.equal(await settled(fifth), 'resolved');
  });

  it('a refusal says when to retry; a wait longer than the limit is refused at once', async () => {
    const clock = new ManualClock();
    const r = new RateLimiter({ perMinute: 2, burst: 1, queue: 5, maxWaitMs: 10_000 }, clock);
    await r.admit('a');
    await assert.rejects(
      r.admit('a'),
      (e: unknown) => rateLimited(e) && (e as ProxyError).headers['Retry-After'] === '30',
    );
  });

  it('a waiting request whose client hangs up leaves the queue', async () => {
    const clock = new ManualClock();
    const r = new RateLimiter({ perMinute: 60, burst: 1, queue: 1, maxWaitMs: 30_000 }, clock);
    await r.admit('a');
    const ac = new AbortController();
    const waiting = r.admit('a', ac.signal);
    ac.abort();
    await assert.rejects(
      waiting,
      (e: unknown) => e instanceof ProxyError && e.code === 'cancelled',
    );
    const next = r.admit('a');
    clock.advance(1_000);
    assert.equal(await settled(next), 'resolved', 'the queue slot was given back');
  });

  it('the signal is made only for a request that must wait; one that already hung up does not queue', async () => {
    const clock = new ManualClock();
    const r = new RateLimiter({ perMinute: 60, burst: 1, queue: 1, maxWaitMs: 30_000 }, clock);
    let made = 0;
    await r.admit('a', () => (made++, new AbortController().signal));
    assert.equal(made, 0, 'admitted at once: no signal made');
    const gone = new AbortController();
    gone.abort();
    await assert.rejects(
      r.admit('a', () => (made++, gone.signal)),
      (e: unknown) => e instanceof ProxyError && e.code === 'cancelled',
    );
    assert.equal(made, 1);
    // It took no queue place: the next one still waits its turn.
    const next = r.admit('a');
    clock.advance(1_000);
    assert.equal(await settled(next), 'resolved');
  });

  it('the defaults let a sequential 1,000-commit rebase through without a refusal, then slow it', async () => {
    const clock = new ManualClock();
    const r = new RateLimiter({ perMinute: 600, burst: 1000, queue: 8, maxWaitMs: 30_000 }, clock);
    for (let i = 0; i < 1000; i++) {
      clock.advance(20); // git's own pace between commits
      assert.equal(await settled(r.admit('rebase')), 'resolved', `commit ${i}`);
    }
    // A second run straight after: each request waits at most one token's time.
    for (let i = 0; i < 50; i++) {
      const p = r.admit('rebase');
      clock.advance(100);
      assert.equal(await settled(p), 'resolved', `second run, commit ${i}`);
    }
  });

  it('turned off, nothing waits', async () => {
    const r = new RateLimiter({ perMinute: 0, burst: 1, queue: 0, maxWaitMs: 0 });
    for (let i = 0; i < 100; i++)
      assert.equal(await settled(r.admit('a')), 'resolved', `request ${i}`);
    // The same limiter turned on refuses at once past its burst of one: what "off" skips.
    r.setLimit(1);
    assert.equal(await settled(r.admit('b')), 'resolved');
    assert.equal(await settled(r.admit('b').catch(() => Promise.reject())), 'rejected');
  });
});
