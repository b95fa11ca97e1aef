// The display sanitiser: every class the issue names, every code point of them, and
// properties over arbitrary strings (fast-check). The oracle here is an independent
// list, not the sanitiser's own Unicode-property regex.
/* eslint-disable no-control-regex -- these tests look for control characters on purpose */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { displayText, ELLIPSIS, UNSAFE_FOR_DISPLAY } from '../../src/core/display-text.js';
import { oneLine } from '../../src/core/errors.js';
import { cleanLogger, type Logger } from '../../src/core/logger.js';
import { formatAudit, parseAuditLines } from '../../src/core/approval/audit.js';

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

// Each class, as ranges written out by hand from the Unicode charts.
const MUST_GO: Record<string, number[]> = {
  'C0 controls and DEL': [...range(0x00, 0x1f), 0x7f],
  'C1 controls (incl. CSI U+009B, NEL)': range(0x80, 0x9f),
  'soft hyphen': [0xad],
  'Arabic letter mark': [0x61c],
  'Mongolian vowel separator': [0x180e],
  'zero-width and directional marks': range(0x200b, 0x200f),
  'line and paragraph separators': [0x2028, 0x2029],
  'bidi embeddings and overrides': range(0x202a, 0x202e),
  'word joiner, invisible operators, bidi isolates': [
    ...range(0x2060, 0x2064),
    ...range(0x2066, 0x206f),
  ],
  'byte order mark / ZWNBSP': [0xfeff],
  'interlinear annotation': range(0xfff9, 0xfffb),
  'tag characters': range(0xe0000, 0xe007f),
  'private use (BMP)': range(0xe000, 0xf8ff),
  'private use (planes 15, 16)': [0xf0000, 0xf1234, 0xffffd, 0x100000, 0x10fffd],
  noncharacters: [...range(0xfdd0, 0xfdef), 0xfffe, 0xffff, 0x1fffe, 0x10ffff],
  unassigned: [0x0378, 0x0379, 0x2fffd, 0xe0080],
  'Hangul fillers (render as nothing)': [0x115f, 0x1160, 0x3164, 0xffa0],
  'variation selectors': [...range(0xfe00, 0xfe0f), 0xe0100, 0xe01ef],
};
const BECOME_SPACE = new Set([...range(0x00, 0x1f), 0x7f, ...range(0x80, 0x9f), 0x2028, 0x2029]);

describe('displayText', () => {
  for (const [name, cps] of Object.entries(MUST_GO)) {
    it(`removes ${name} (${cps.length} code points)`, () => {
      for (const cp of cps) {
        const ch = String.fromCodePoint(cp);
        const out = displayText(`a${ch}b`, 50);
        const want = BECOME_SPACE.has(cp) ? 'a b' : 'ab';
        assert.equal(out, want, `U+${cp.toString(16).toUpperCase()}`);
      }
    });
  }

  it('removes lone surrogates and keeps pairs', () => {
    assert.equal(displayText('a\ud800b\udc00c', 10), 'abc');
    assert.equal(displayText('a😀b', 10), 'a😀b');
  });

  it('keeps ordinary text of every script, and collapses white space', () => {
    assert.equal(displayText('  Zoë  Ünïcode\t漢字 — ok  ', 50), 'Zoë Ünïcode 漢字 — ok');
    assert.equal(displayText('e\u0301', 5), 'e\u0301', 'combining marks stay');
    assert.equal(displayText('a\u00a0\u3000b', 5), 'a b', 'other spaces collapse');
  });

  it('an escape sequence loses its ESC, so a terminal prints it as text', () => {
    assert.equal(displayText('x\u001b[2K\u001b[1Ay', 50), 'x [2K [1Ay');
    assert.equal(displayText('\u009b31mred', 50), '31mred');
  });

  it('bounds the length in code points, marking the cut', () => {
    assert.equal(displayText('abcdef', 4), `abc${ELLIPSIS}`);
    assert.equal(displayText('😀'.repeat(10), 4), `😀😀😀${ELLIPSIS}`);
    assert.equal(displayText('abcd', 4), 'abcd');
    const huge = displayText('x'.repeat(8 << 20), 100);
    assert.equal([...huge].length, 100);
  });

  it('property: output is clean, single-spaced, trimmed, bounded and idempotent', () => {
    const any = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({ unit: 'grapheme', maxLength: 60 }),
      fc
        .array(
          fc.constantFrom(
            ...Object.values(MUST_GO)
              .flat()
              .map((c) => String.fromCodePoint(c)),
            'a',
            ' ',
            'é',
          ),
          { maxLength: 80 },
        )
        .map((a) => a.join('')),
    );
    fc.assert(
      fc.property(any, fc.integer({ min: 1, max: 300 }), (s, max) => {
        const out = displayText(s, max);
        assert.equal(UNSAFE_FOR_DISPLAY.test(out), false);
        for (const ch of out) {
          const cp = ch.codePointAt(0) as number;
          assert.ok(
            !Object.values(MUST_GO).some((cps) => cps.includes(cp)),
            `U+${cp.toString(16)}`,
          );
        }
        assert.doesNotMatch(out, /\s\s|^\s|\s$/);
        assert.ok([...out].length <= max);
        if (!out.endsWith(ELLIPSIS)) assert.equal(displayText(out, max), out);
      }),
      { numRuns: 500 },
    );
  });

  it('property: ASCII text (the shortcut for already-clean text) comes out as an independent oracle says', () => {
    // Printable words, single and double spaces, tabs, controls, DEL: around the
    // "already clean" shortcut's edges (leading, trailing, doubled spaces, exact length).
    const ascii = fc
      .array(
        fc.oneof(
          fc.string({
            unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
            maxLength: 12,
          }),
          fc.constantFrom(' ', '  ', '\t', '\u001b', '\u007f', '\n', '\u0000'),
        ),
        { maxLength: 30 },
      )
      .map((a) => a.join(''));
    const oracle = (s: string, max: number) => {
      const clean = s
        .replace(/[\u0000-\u001f\u007f]/g, ' ')
        .replace(/ +/g, ' ')
        .trim();
      return clean.length > max ? `${clean.slice(0, max - 1)}${ELLIPSIS}` : clean;
    };
    fc.assert(
      fc.property(ascii, fc.integer({ min: 1, max: 120 }), (s, max) => {
        assert.equal(displayText(s, max), oracle(s, max));
      }),
      { numRuns: 2000 },
    );
    assert.equal(displayText('abc', 3), 'abc');
    assert.equal(displayText('abcd', 3), `ab${ELLIPSIS}`);
    assert.equal(displayText(' a', 3), 'a');
    assert.equal(displayText('a  b', 9), 'a b');
  });

  it('oneLine (HTTP error lines) and the log and audit go through it', () => {
    const evil = 'x\u001b[2K\u202e\u00ad\u{E0041}\ny';
    assert.equal(oneLine(evil), 'x [2K y');
    const got: string[] = [];
    const inner: Logger = {
      debug: (m) => got.push(m),
      info: (m) => got.push(m),
      warn: (m) => got.push(m),
      error: (m) => got.push(m),
    };
    const log = cleanLogger(inner);
    log.info(evil);
    log.error(`Error: boom\n    at f (x.js:1:1)\n${evil}`);
    assert.deepEqual(got, ['x [2K y', 'Error: boom at f (x.js:1:1) x [2K y']);
    const [rec] = parseAuditLines(
      `${JSON.stringify({ time: '2026-01-01T00:00:00.000Z', id: '1', client: `c${evil}`, remote: 'r', key: null, namespace: 'git', what: evil, decision: 'allowed', decidedBy: 'person', status: 200, outcome: 'ok', ms: 1 })}\n`,
    );
    assert.equal(rec?.client, 'cx [2K y');
    assert.equal(rec?.what, 'x [2K y');
    assert.doesNotMatch(formatAudit({ ...rec!, outcome: evil }), /[\u001b\u202e\u00ad\n]/u);
  });
});
