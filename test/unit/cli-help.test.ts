// Top-level --help says what each flag means, not only its name, and a default that is
// "empty" says what the proxy falls back to.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { usage } from '../../src/cli/args.js';
import { SETTINGS } from '../../src/core/config/settings-spec.js';

describe('ssh-agent-proxy --help', () => {
  const text = usage('0.0.0');
  const lines = text.split('\n');

  it("gives each flag's meaning under it", () => {
    for (const s of SETTINGS) {
      const at = lines.findIndex((l) => l.startsWith(`  --${s.flag} `));
      assert.ok(at >= 0, `--${s.flag} is listed`);
      assert.match(lines[at]!, new RegExp(`\\b${s.env}\\b`));
      // The meaning follows, indented, word for word (wrapped).
      const meaning: string[] = [];
      for (let i = at + 1; i < lines.length && lines[i]!.startsWith('      '); i++)
        meaning.push(lines[i]!.trim());
      assert.equal(meaning.join(' '), s.describe.replace(/\s+/g, ' '), `--${s.flag}`);
      for (const l of lines.slice(at + 1, at + 1 + meaning.length)) assert.ok(l.length <= 100, l);
    }
  });

  it('--upstream shows its fallback: SSH_AUTH_SOCK, then the platform default', () => {
    const line = lines.find((l) => l.startsWith('  --upstream '))!;
    assert.match(line, /\(default: \$SSH_AUTH_SOCK, then the platform default\)$/);
    assert.doesNotMatch(line, /none/);
  });
});
