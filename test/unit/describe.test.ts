// Describe: fixtures made by real git, plus fuzzed bytes that must never throw.
/* eslint-disable no-control-regex -- these tests look for control characters on purpose */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe as suite, it } from 'node:test';
import fc from 'fast-check';
import { describe, summarize, type Description } from '../../src/core/approval/describe.js';
import { displayText } from '../../src/core/display-text.js';
import { ProxyError } from '../../src/core/errors.js';
import { headline, requestLines } from '../../src/core/approval/request-view.js';
import { mustRun, run, tempDir } from '../helpers/openssh.js';
import { needsPosixShell } from '../helpers/platform.js';
import { pendingFor } from '../helpers/fixtures.js';

let dir: string;
const env = () => ({
  PATH: process.env.PATH,
  HOME: dir,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_DATE: '1700000000 +0100',
  GIT_COMMITTER_DATE: '1700000000 +0100',
});
const git = (cwd: string, ...args: string[]) => mustRun('git', args, { env: env(), cwd });

async function repo(name: string, format: 'sha1' | 'sha256') {
  const r = join(dir, name);
  mkdirSync(r);
  await git(r, 'init', '-q', `--object-format=${format}`);
  await git(r, 'config', 'user.name', 'Ana Example');
  await git(r, 'config', 'user.email', 'ana@example.test');
  return r;
}

before(() => {
  dir = tempDir();
});

suite('describe', () => {
  for (const format of ['sha1', 'sha256'] as const) {
    it(`git commits and tags (${format})`, async () => {
      const r = await repo(`r-${format}`, format);
      await git(r, 'commit', '-q', '--allow-empty', '-m', 'Root commit');
      await git(r, 'commit', '-q', '--allow-empty', '-m', 'Fix login race\n\nBody text here.');
      const raw = Buffer.from(await git(r, 'cat-file', 'commit', 'HEAD'));
      const d = describe(raw);
      assert.equal(d.kind, 'commit');
      if (d.kind !== 'commit') return;
      assert.equal(d.objectFormat, format);
      assert.equal(d.tree, (await git(r, 'rev-parse', 'HEAD^{tree}')).trim());
      assert.deepEqual(d.parents, [(await git(r, 'rev-parse', 'HEAD~1')).trim()]);
      assert.deepEqual(d.author, {
        name: 'Ana Example',
        email: 'ana@example.test',
        time: 1700000000,
      });
      assert.equal(d.subject, 'Fix login race');
      assert.equal(d.bodyBytes, 'Fix login race\n\nBody text here.\n'.length);
      assert.equal(headline(d), 'Sign git commit "Fix login race"');
      assert.match(
        summarize(d),
        /^git commit "Fix login race" by Ana Example <ana@example.test> \(tree [0-9a-f]{7}, parent [0-9a-f]{7}\)$/,
      );

      await git(r, 'tag', '-a', '-m', 'Release one', 'v1.0');
      const tag = describe(Buffer.from(await git(r, 'cat-file', 'tag', 'v1.0')));
      assert.equal(tag.kind, 'tag');
      if (tag.kind === 'tag') {
        assert.equal(tag.tag, 'v1.0');
        assert.equal(tag.objectType, 'commit');
        assert.equal(tag.subject, 'Release one');
        assert.equal(tag.tagger?.email, 'ana@example.test');
      }
    });
  }

  it('a merge commit lists both parents', async () => {
    const r = await repo('merge', 'sha1');
    await git(r, 'commit', '-q', '--allow-empty', '-m', 'base');
    await git(r, 'checkout', '-q', '-b', 'side');
    await git(r, 'commit', '-q', '--allow-empty', '-m', 'side');
    await git(r, 'checkout', '-q', '-');
    await git(r, 'commit', '-q', '--allow-empty', '-m', 'main');
    await git(r, 'merge', '-q', '--no-ff', '-m', 'Merge side', 'side');
    const d = describe(Buffer.from(await git(r, 'cat-file', 'commit', 'HEAD')));
    assert.equal(d.kind === 'commit' && d.parents.length, 2);
  });

  it(
    'a push certificate, as real git hands it to the signing program',
    { skip: needsPosixShell },
    async () => {
      const remote = join(dir, 'remote.git');
      await mustRun('git', ['init', '-q', '--bare', remote], { env: env() });
      await mustRun('git', ['config', 'receive.certNonceSeed', 'seed'], {
        env: env(),
        cwd: remote,
      });
      const r = await repo('pusher', 'sha1');
      await git(r, 'commit', '-q', '--allow-empty', '-m', 'to push');
      // A signing program that keeps what git asked it to sign, then fails (no key needed).
      const capture = join(dir, 'capture.sh');
      writeFileSync(
        capture,
        `#!/bin/sh\nfor a; do f=$a; done\ncp "$f" "${join(dir, 'cert.txt')}"\nexit 1\n`,
      );
      chmodSync(capture, 0o755);
      await git(r, 'config', 'gpg.format', 'ssh');
      await git(r, 'config', 'gpg.ssh.program', capture);
      await git(
        r,
        'config',
        'user.signingkey',
        'key::ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOCOH8kT9mt86C6WKfsP7W7o8X2vUXTWvjJ6oGbHcK4O',
      );
      await run('git', ['push', '-q', '--signed=yes', `file://${remote}`, 'HEAD:refs/heads/main'], {
        env: env(),
        cwd: r,
      });
      const cert = readFileSync(join(dir, 'cert.txt'));
      const d = describe(cert);
      assert.equal(d.kind, 'push-cert', cert.toString());
      if (d.kind === 'push-cert') {
        assert.match(
          d.pusher,
          /^SHA256:[A-Za-z0-9+/]{43}$/,
          'an SSH push certificate names its key',
        );
        assert.equal(d.updates.length, 1);
        assert.equal(d.updates[0]!.ref, 'refs/heads/main');
        assert.equal(d.pushee, `file://${remote}`);
      }
    },
  );

  it('control characters and bidi overrides never reach the person', () => {
    const evil = Buffer.from(
      'tree 4b825dc642cb6eb9a060e54bf8d69288fbe4904b\nauthor Mallory \u202eredA\u202c \u001b[31m <m@x> 1 +0000\ncommitter M <m@x> 1 +0000\n\nInnocent \u2066subject\u0007\r\n',
    );
    const d = describe(evil);
    assert.equal(d.kind, 'commit');
    const text = JSON.stringify(d.kind === 'commit' ? [d.author, d.subject] : null);
    assert.doesNotMatch(text, /[\u0000-\u001f\u202a-\u202e\u2066-\u2069]|\\u00/);
    assert.equal(displayText('a\u200bb', 10), 'ab');
    assert.equal(displayText('x'.repeat(500), 10).length, 10);
  });

  it('opaque data: size and SHA-256', () => {
    const d = describe(Buffer.from([0, 1, 2, 255]));
    const sha256 = createHash('sha256')
      .update(Buffer.from([0, 1, 2, 255]))
      .digest('hex');
    assert.deepEqual(d, { kind: 'data', size: 4, sha256, text: false });
    assert.equal(headline(d), 'Sign 4 bytes of data');
  });

  it('fuzzed bytes give a bounded description or a 422 refusal, nothing else', () => {
    const header = fc.constantFrom(
      'tree 4b825dc642cb6eb9a060e54bf8d69288fbe4904b\n',
      'object 4b825dc642cb6eb9a060e54bf8d69288fbe4904b\ntype commit\ntag ',
      'certificate version 0.1\npusher ',
      '',
    );
    fc.assert(
      fc.property(
        header,
        fc.uint8Array({ maxLength: 3000 }),
        fc.string({ maxLength: 3000 }),
        (h, bytes, str) => {
          for (const input of [
            Buffer.concat([Buffer.from(h), Buffer.from(bytes)]),
            Buffer.from(h + str),
          ]) {
            let d: Description;
            try {
              d = describe(input);
            } catch (err) {
              // Commit- or tag-shaped bytes git would read differently: refused, one line.
              assert.ok(err instanceof ProxyError, String(err));
              assert.equal(err.status, 422);
              assert.match(
                err.code,
                /^(ambiguous-git-object|malformed-git-object|git-object-already-signed|unsupported-git-encoding)$/,
              );
              assert.ok(/^(tree|object) /.test(input.toString('latin1')), 'only git-shaped bytes');
              assert.doesNotMatch(err.line, /[\u0000-\u001f]/);
              continue;
            }
            const shown = JSON.stringify(d) + summarize(d);
            assert.ok(shown.length < 12_000, `bounded: ${shown.length}`);
            if (d.kind !== 'data') {
              const lines = requestLines(pendingFor(d));
              assert.ok(lines.every((l) => !/[\u0000-\u001f]/.test(l.value)));
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a huge commit message is described in bounded time and size', () => {
    const big = Buffer.concat([
      Buffer.from(
        'tree 4b825dc642cb6eb9a060e54bf8d69288fbe4904b\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\n',
      ),
      Buffer.alloc(8 << 20, 0x61),
    ]);
    const d = describe(big);
    assert.equal(d.kind, 'commit');
    assert.ok(JSON.stringify(d).length < 2000);
  });
});
