// The request target's shortcut (a plain `/word` read as it is) says exactly what URL
// parsing says, for every target the shortcut takes and the ones around it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseTarget } from '../../src/core/http/http-server.js';
import { ProxyError } from '../../src/core/errors.js';

function viaUrl(target: string) {
  try {
    if (!target.startsWith('/') || target.startsWith('//')) return 'refused';
    const u = new URL(target, 'http://proxy.invalid');
    return { pathname: u.pathname, query: [...u.searchParams] };
  } catch {
    return 'refused';
  }
}

function viaParse(target: string) {
  try {
    const t = parseTarget(target);
    return { pathname: t.pathname, query: [...t.searchParams] };
  } catch (err) {
    assert.ok(err instanceof ProxyError && err.code === 'bad-request-target', String(err));
    return 'refused';
  }
}

describe('request target', () => {
  it('property: parseTarget agrees with URL on paths made of route-like pieces', () => {
    const piece = fc.constantFrom(
      '/',
      'sign',
      'healthz',
      'SIGN',
      'keys',
      '.',
      '..',
      '%73',
      '?',
      '=',
      '&',
      'key',
      '#',
      'a',
      '\\',
      ' ',
      '%2F',
      'é',
      'publickeypublickeyx',
    );
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 8 }), (parts) => {
        const target = parts.join('');
        assert.deepEqual(viaParse(target), viaUrl(target), target);
      }),
      { numRuns: 3000 },
    );
    for (const t of ['/sign', '/healthz', '/abcdefghijklmnop', '/abcdefghijklmnopq', '/', '/Sign'])
      assert.deepEqual(viaParse(t), viaUrl(t), t);
  });
});
