import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProxyError } from '../../src/core/errors.js';
import { ByteBudget, RateLimiter } from '../../src/core/limits.js';

describe('limits', () => {
  it('the byte budget admits up to its limit and takes bytes back', () => {
    const b = new ByteBudget(100);
    assert.ok(b.take(60));
    assert.equal(b.take(50), false);
    assert.ok(b.take(40));
    b.give(60);
    assert.equal(b.inUse, 40);
    assert.ok(b.take(60));
  });

  it('the rate limit allows a burst of N a minute per client, refills, and can be off', () => {
    let t = 0;
    const r = new RateLimiter(5, () => t);
    for (let i = 0; i < 5; i++) r.check('a');
    assert.throws(
      () => r.check('a'),
      (e: unknown) =>
        e instanceof ProxyError &&
        e.status === 429 &&
        e.code === 'rate-limited' &&
        e.headers['Retry-After'] === '12',
    );
    r.check('b'); // another client has its own bucket
    t += 12_000;
    r.check('a');
    assert.throws(() => r.check('a'));
    r.setLimit(0);
    for (let i = 0; i < 100; i++) r.check('a');
  });

  it('the default allows a 40-commit rebase in well under a minute', () => {
    const r = new RateLimiter(240, () => 0);
    for (let i = 0; i < 40; i++) r.check('rebase');
  });
});
