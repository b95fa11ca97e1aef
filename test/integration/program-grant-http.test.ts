// A program-scoped grant end to end over HTTP (issue #19 item 4): real curl signs through
// the proxy, the person answers "allow curl (/usr/bin/curl) for 10 minutes"; curl's next
// request is signed without a prompt (it is found again on its new connection), while a copy
// of curl at another path is asked again. The lookup's budget is raised here so that a busy
// machine cannot turn "found" into "unknown" (which would only mean: asked again).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Answer, PendingRequest } from '../../src/core/approval/approval-broker.js';
import { LinuxPeerFinder } from '../../src/core/peer/peer-finder-linux.js';
import type { PeerFinder } from '../../src/core/peer/peer-process.js';
import { agentWithKey, commitObject } from '../helpers/fixtures.js';
import { tempDir, type Agent } from '../helpers/openssh.js';
import { startTestProxy } from '../helpers/proxy.js';

const linux = process.platform === 'linux';
let agent: Agent;
let copy: string;

before(async () => {
  if (!linux) return;
  ({ agent } = await agentWithKey('ed25519', 'ana-laptop'));
  const dir = tempDir('program-grant-http-');
  mkdirSync(join(dir, 'bin'));
  copy = join(dir, 'bin', 'curl');
  copyFileSync('/usr/bin/curl', copy);
});

function curlSign(exe: string, url: string, subject: string): Promise<number> {
  const c = spawn(exe, [
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '--data-binary',
    '@-',
    `${url}/sign`,
  ]);
  let out = '';
  c.stdout.on('data', (d: Buffer) => (out += d));
  c.stdin.end(commitObject(subject));
  return new Promise((r) => c.on('close', () => r(Number(out))));
}

describe(
  'program-scoped grant over HTTP (real curl)',
  { skip: !linux && 'Linux /proc finder' },
  () => {
    it('covers /usr/bin/curl’s next request, not a copy of curl elsewhere', async () => {
      const linuxFinder = new LinuxPeerFinder();
      const finder: PeerFinder = {
        method: linuxFinder.method,
        budgetMs: 60_000,
        find: (conn, signal) => linuxFinder.find(conn, signal),
      };
      const tp = await startTestProxy(
        { SSH_AGENT_PROXY_UPSTREAM: agent.sock, SSH_AGENT_PROXY_APPROVAL: 'prompt' },
        undefined,
        { peerFinder: finder },
      );
      const shown: PendingRequest[] = [];
      const answers: Answer[] = ['allow-program-for-grant', 'deny'];
      tp.proxy.broker.attach({
        update(q) {
          for (const r of q) {
            if (shown.some((s) => s.id === r.id)) continue;
            shown.push(r);
            const a = answers.shift() ?? 'deny';
            queueMicrotask(() => tp.proxy.broker.answer({ id: r.id }, a));
          }
        },
      });
      assert.equal(await curlSign('/usr/bin/curl', tp.url, 'first'), 200);
      assert.equal(shown.length, 1);
      assert.equal(shown[0]!.client.program?.exe, '/usr/bin/curl');
      assert.equal(tp.proxy.broker.grants()[0]?.program?.exe, '/usr/bin/curl');
      assert.equal(await curlSign('/usr/bin/curl', tp.url, 'second'), 200);
      assert.equal(shown.length, 1, 'the same executable was asked again');
      assert.equal(await curlSign(copy, tp.url, 'copied'), 403);
      assert.equal(shown.length, 2, 'the copy was not asked');
      assert.equal(shown[1]!.client.program?.exe, copy);
      assert.equal(tp.proxy.broker.grants()[0]?.uses, 2);
    });
  },
);
