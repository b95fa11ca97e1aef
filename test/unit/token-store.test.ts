import assert from 'node:assert/strict';
import { timingSafeEqual } from 'node:crypto';
import { describe, it } from 'node:test';
import { ProxyError } from '../../src/core/errors.js';
import { parseDuration, TokenStore } from '../../src/core/approval/token-store.js';
import { tempDir } from '../helpers/openssh.js';
import { assertFileMode } from '../helpers/platform.js';

const code = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof ProxyError);
    assert.equal(e.status, 401);
    return e.code;
  }
};

describe('token store', () => {
  it('create, verify, revoke, expire', (t) => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const dir = tempDir();
    const store = new TokenStore(dir, { now: () => now });
    assert.equal(store.required, false);
    const a = store.create('a');
    const b = store.create('b', {
      expiresInMs: parseDuration('2h'),
      keys: ['SHA256:x'],
      namespaces: ['git'],
      gitOnly: true,
    });
    assert.equal(store.required, true);
    assert.equal(store.verify(a).name, 'a');
    assert.deepEqual(store.verify(b).keys, ['SHA256:x']);
    assert.equal(
      code(() => store.verify('sap_nope')),
      'bad-token',
    );
    now += 2 * 3600_000;
    assert.equal(
      code(() => store.verify(b)),
      'token-expired',
    );
    assert.ok(store.revoke('a'));
    assert.equal(
      code(() => store.verify(a)),
      'token-revoked',
    );
    assert.equal(store.revoke('a'), false);
    assertFileMode(t, store.path, 0o600);
  });

  it('another process revoking is seen by refresh(), which names what became unusable', () => {
    const dir = tempDir();
    const proxySide = new TokenStore(dir);
    const cliSide = new TokenStore(dir);
    cliSide.create('box');
    proxySide.refresh();
    assert.deepEqual(
      proxySide.usable().map((t) => t.name),
      ['box'],
    );
    cliSide.revoke('box');
    assert.deepEqual(
      proxySide.refresh().map((t) => t.name),
      ['box'],
    );
    assert.deepEqual(proxySide.refresh(), []);
  });

  it('compares the presented token with every record, in constant time each', () => {
    const dir = tempDir();
    let calls = 0;
    const store = new TokenStore(dir, { equal: (x, y) => (calls++, timingSafeEqual(x, y)) });
    const tokens = ['t1', 't2', 't3', 't4'].map((n) => store.create(n));
    for (const t of [tokens[0]!, tokens[3]!, 'sap_unknown']) {
      calls = 0;
      code(() => store.verify(t));
      assert.equal(calls, 4, 'no early exit that would reveal which record matched');
    }
  });

  it('durations and names', () => {
    assert.equal(parseDuration('90m'), 90 * 60_000);
    assert.equal(parseDuration('30d'), 30 * 86_400_000);
    assert.throws(() => parseDuration('soon'), /not a duration/);
    for (const zero of ['0d', '0s', '00m'])
      assert.throws(() => parseDuration(zero), /no time at all/);
    const store = new TokenStore(tempDir());
    assert.throws(() => store.create('bad name'), /not a valid token name/);
  });
});
