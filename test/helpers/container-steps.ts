// The container steps as a newcomer pastes them: the ```sh blocks of the README's "In a
// container" section, and a checker that runs pasted lines literally but stops at the first
// line that does not exit 0 (as `set -e` and a Dockerfile RUN would), naming it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './proxy.js';

/** The ```sh blocks of the README's "In a container" section, in order. */
export function readmeContainerSteps(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## In a container\n');
  const end = readme.indexOf('\n## ', start + 1);
  assert.ok(start > 0 && end > start, 'the README has an "In a container" section');
  const section = readme.slice(start, end);
  const blocks = [...section.matchAll(/^( *)```sh\n([\s\S]*?)^\1```$/gm)].map((m) =>
    m[2]!.replace(new RegExp(`^${m[1]}`, 'gm'), ''),
  );
  assert.ok(blocks.length >= 3);
  return blocks.join('\n');
}

/**
 * `lines` as they are, each command line followed by a check of its own exit status: under
 * `set -e` a failing `a && b` does not stop a script, yet it fails a Dockerfile RUN or a
 * script's last line. The script exits 97 at the first line that did not exit 0.
 */
export function everyLineMustSucceed(lines: string): string {
  return lines
    .split('\n')
    .map((line, i) =>
      /^\s*(#|$)/.test(line)
        ? line
        : `${line}\nst=$?; [ "$st" = 0 ] || { echo "line ${i + 1} exited $st" >&2; exit 97; }`,
    )
    .join('\n');
}
