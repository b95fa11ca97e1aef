// Grants that name the program (issue #19 item 4): "Allow curl (/usr/bin/curl) with this key
// for 10 minutes" covers later requests of that client from that executable only. Found with
// real processes: /usr/bin/curl, and a copy of it under the same name at another path (the
// name alike, the executable not). A request whose program is unknown is never covered, and
// a program-scoped answer for such a request changes nothing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApprovalBroker, type KeyInfo } from '../../src/core/approval/approval-broker.js';
import { grantGivenRecord } from '../../src/core/approval/audit-events.js';
import { cleanAuditRecord, formatAudit, type AuditRecord } from '../../src/core/approval/audit.js';
import { anonymousClient, type ClientInfo } from '../../src/core/approval/client.js';
import { describe as describeBytes } from '../../src/core/approval/describe.js';
import type { Grant } from '../../src/core/approval/grants.js';
import { formatGrant, summarizeGrant } from '../../src/core/control/control-protocol.js';
import { choosePeerFinder } from '../../src/core/peer/choose-peer-finder.js';
import { ConnectionPeers } from '../../src/core/peer/connection-peers.js';
import type { PeerProcess } from '../../src/core/peer/peer-process.js';

const linux = process.platform === 'linux';
const key: KeyInfo = {
  fingerprint: 'SHA256:abc',
  type: 'ssh-ed25519',
  comment: 'k',
  label: 'ED25519',
};
let dir: string;
let copy: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'program-grant-'));
  mkdirSync(join(dir, 'bin'));
  // Same name, another file: what a process that copies a binary gets.
  copy = join(dir, 'bin', 'curl');
  copyFileSync('/usr/bin/curl', copy);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The program the host sees at the other end of a loopback connection made by `exe`. */
async function programOf(exe: string): Promise<PeerProcess> {
  const peers = new ConnectionPeers(choosePeerFinder());
  let found: Promise<PeerProcess | undefined> | undefined;
  const server = createServer((s) => {
    s.on('error', () => {});
    found = peers
      .of(s)
      .finally(() => s.end('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const child = spawn(exe, ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/`], {
    stdio: 'ignore',
  });
  await new Promise((r) => child.once('exit', r));
  server.close();
  const p = await found;
  assert.ok(p?.exe, `the host saw ${exe}`);
  return p;
}

function broker(given: Grant[] = []) {
  return new ApprovalBroker({
    policy: 'prompt',
    timeoutMs: 60_000,
    grantMs: 600_000,
    grantMaxUses: 0,
    maxPending: 16,
    maxPendingPerClient: 16,
    onGrantGiven: (g) => given.push(g),
  });
}

/** Queue a request from `client` (a prompter attached) and answer it with `answer`. */
async function grantFrom(
  b: ApprovalBroker,
  client: ClientInfo,
  answer: 'allow-for-grant' | 'allow-program-for-grant',
) {
  b.attach({ update: () => {} });
  const d = b.decide(client, key, 'git', describeBytes(Buffer.from('x')));
  assert.equal(b.answer({ id: b.queue()[0]!.id }, answer), true);
  assert.equal((await d).allowed, true);
}

describe('program-scoped grants (real processes)', { skip: !linux && 'Linux /proc finder' }, () => {
  let curlA: PeerProcess;
  let curlA2: PeerProcess;
  let copied: PeerProcess;
  before(async () => {
    curlA = await programOf('/usr/bin/curl');
    curlA2 = await programOf('/usr/bin/curl');
    copied = await programOf(copy);
  });
  const local = (program?: PeerProcess): ClientInfo => ({
    ...anonymousClient('127.0.0.1'),
    ...(program ? { program } : {}),
  });

  it('covers the same executable in another process, not a copy of it at another path', async () => {
    assert.notEqual(curlA.pid, curlA2.pid);
    assert.equal(copied.name, curlA.name, 'the copy reads alike by name');
    assert.notEqual(copied.exe, curlA.exe);
    const given: Grant[] = [];
    const b = broker(given);
    await grantFrom(b, local(curlA), 'allow-program-for-grant');
    assert.deepEqual(given[0]?.program, { exe: curlA.exe, name: curlA.name, container: '' });
    assert.equal(
      b.decideWithoutPrompt(local(curlA2), key, 'git')?.allowed,
      true,
      'same exe, new pid',
    );
    assert.equal(b.decideWithoutPrompt(local(copied), key, 'git'), null, 'a copy elsewhere');
    assert.equal(b.decideWithoutPrompt(local(), key, 'git'), null, 'program unknown');
    const renamed = { ...curlA2, name: 'git' };
    assert.equal(
      b.decideWithoutPrompt(local(renamed), key, 'git')?.allowed,
      true,
      'name is never matched',
    );
    const other: ClientInfo = { ...local(curlA2), id: 'token t2', name: 'box2' };
    assert.equal(b.decideWithoutPrompt(other, key, 'git'), null, 'another client');
    assert.equal(b.decideWithoutPrompt(local(curlA2), key, 'ssh'), null, 'another namespace');
    assert.equal(
      b.decideWithoutPrompt(local(curlA2), { ...key, fingerprint: 'SHA256:other' }, 'git'),
      null,
      'another key',
    );
  });

  it('the client-wide grant still covers every program of the client, and unknown ones', async () => {
    const b = broker();
    await grantFrom(b, local(curlA), 'allow-for-grant');
    assert.equal(b.decideWithoutPrompt(local(copied), key, 'git')?.allowed, true);
    assert.equal(b.decideWithoutPrompt(local(), key, 'git')?.allowed, true);
  });

  it('a program-scoped answer for a request without a known executable answers nothing', async () => {
    const given: Grant[] = [];
    const b = broker(given);
    b.attach({ update: () => {} });
    for (const program of [
      undefined,
      { ...curlA, exe: undefined },
      { ...curlA, exe: `${curlA.exe!} (deleted)` },
    ]) {
      void b.decide(local(program), key, 'git', describeBytes(Buffer.from('x')));
      const id = b.queue()[0]!.id;
      assert.equal(b.answer({ id }, 'allow-program-for-grant'), false);
      assert.equal(b.queue()[0]?.id, id, 'still pending');
      assert.equal(b.grants().length, 0);
      b.answer({ id }, 'deny');
    }
    assert.equal(given.length, 0, 'no grant recorded');
  });

  it('the audit record and `grants` state the program scope', async () => {
    const given: Grant[] = [];
    const b = broker(given);
    await grantFrom(b, local(curlA), 'allow-program-for-grant');
    const rec = grantGivenRecord(given[0]!);
    assert.equal(rec.program, `curl (${curlA.exe!})`);
    assert.match(
      rec.what!,
      /"allow curl for 10 minutes": local 127\.0\.0\.1 running curl \(\/usr\/bin\/curl\) only with key/,
    );
    // As `ssh-agent-proxy audit` shows it, after a round trip through the file's cleaning.
    const shown = formatAudit(cleanAuditRecord(JSON.parse(JSON.stringify(rec)) as AuditRecord));
    assert.match(shown, /grant-given/);
    assert.match(shown, /running curl \(\/usr\/bin\/curl\) only with key/);
    const line = formatGrant(summarizeGrant(b.grants()[0]!), Date.now());
    assert.match(line, /local 127\.0\.0\.1 running curl \(\/usr\/bin\/curl\) only · ED25519/);
  });
});
