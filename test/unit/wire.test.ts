import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Reader, string, uint32, WireError } from '../../src/core/ssh/wire.js';

describe('wire', () => {
  it('reads what it writes', () => {
    const r = new Reader(Buffer.concat([uint32(7), string('abc'), string(Buffer.from([0, 0x7f]))]));
    assert.equal(r.uint32(), 7);
    assert.equal(r.string().toString(), 'abc');
    assert.deepEqual([...r.mpint()], [0x7f]);
    r.end();
  });

  it('a length past the buffer is an error, never a crash', () => {
    assert.throws(
      () => new Reader(Buffer.from([0, 0, 0, 9, 1, 2])).string('blob'),
      /blob: needs 9 bytes, only 2 left/,
    );
    assert.throws(() => new Reader(Buffer.from([0xff, 0xff, 0xff, 0xff])).string(), WireError);
    assert.throws(() => new Reader(Buffer.from([1, 2])).uint32(), WireError);
  });

  it('trailing bytes, negative mpints and unprintable names are refused', () => {
    const r = new Reader(Buffer.concat([string('x'), Buffer.from([1])]));
    r.string();
    assert.throws(() => r.end('thing'), /thing: 1 unexpected trailing bytes/);
    assert.throws(() => new Reader(string(Buffer.from([0x80]))).mpint(), /negative mpint/);
    assert.throws(() => new Reader(string('a b')).name(), /not a printable name/);
  });

  it('random bytes only ever yield values or WireError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const r = new Reader(Buffer.from(bytes));
        try {
          while (r.remaining > 0) r.string();
        } catch (err) {
          assert.ok(err instanceof WireError);
        }
      }),
    );
  });
});
