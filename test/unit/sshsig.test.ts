import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { armor, isValidNamespace, signedData } from '../../src/core/ssh/sshsig.js';

describe('sshsig', () => {
  it('armors at 70 columns with a trailing newline', () => {
    const text = armor(Buffer.alloc(200, 7));
    const lines = text.split('\n');
    assert.equal(lines[0], '-----BEGIN SSH SIGNATURE-----');
    assert.equal(lines.at(-2), '-----END SSH SIGNATURE-----');
    assert.equal(lines.at(-1), '');
    assert.ok(lines.slice(1, -2).every((l) => l.length <= 70));
    assert.equal(lines[1]!.length, 70);
  });

  it('signed data starts with the magic and carries namespace and hash name', () => {
    const d = signedData('git', Buffer.from('m'));
    assert.equal(d.subarray(0, 6).toString(), 'SSHSIG');
    assert.ok(d.includes(Buffer.from('sha512')));
    assert.equal(d.length, 6 + 4 + 3 + 4 + 0 + 4 + 6 + 4 + 64);
  });

  it('namespaces are short and plain', () => {
    assert.ok(isValidNamespace('git'));
    assert.ok(isValidNamespace('file@example.com'));
    assert.ok(!isValidNamespace(''));
    assert.ok(!isValidNamespace('a b'));
    assert.ok(!isValidNamespace('x'.repeat(65)));
  });
});
