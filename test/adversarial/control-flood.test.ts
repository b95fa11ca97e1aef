// The control channel under a flood (src/core/control/control-socket.ts). A client that sends
// many short requests and never reads the answers: each {"op":"status"} (16 bytes) is
// answered with every live grant, so 2,000 of them (32 KiB sent) with 60 live grants are
// ~25 MB of answers. Written with no regard for backpressure they all sit in the proxy's
// memory, for each of its connections (or, with a backstop, the connection is cut and the
// answers lost). Expected: once a connection has more than 64 KiB unsent, the proxy reads and answers nothing more from it until the client
// reads — and then it answers every request, in order (nothing is dropped). And a client
// that sends only blank lines is idle: it loses its place (one of a few) like a silent one.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ApprovalBroker } from '../../src/core/approval/approval-broker.js';
import { describe as describeBytes } from '../../src/core/approval/describe.js';
import { listenControl } from '../../src/core/control/control-socket.js';
import { silentLogger } from '../../src/core/logger.js';
import { newSecret } from '../../src/core/control/control-key.js';
import { handshake } from '../helpers/control-handshake.js';
import { onCleanup } from '../helpers/openssh.js';
import { promptBroker } from '../helpers/prompt-broker.js';

/** What one connection may make the proxy hold unsent: the bound (64 KiB) plus an answer. */
const LIMIT = 128 << 10;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function brokerWithGrants(n: number) {
  const broker = promptBroker();
  broker.attach({ update: () => {} });
  const client = { id: 'local', name: 'local 127.0.0.1', address: '127.0.0.1' };
  return (async () => {
    for (let i = 0; i < n; i++) {
      const fp = `SHA256:${String(i).padStart(43, 'A')}`;
      const key = { fingerprint: fp, type: 'ssh-ed25519', comment: '', label: 'ED25519 a comment' };
      const d = broker.decide(client, key, 'git', describeBytes(Buffer.from(`x${i}`)));
      broker.answer({ id: broker.queue()[0]!.id }, 'allow-for-grant');
      await d;
    }
    assert.equal(broker.grants().length, n);
    return broker;
  })();
}

async function channelAt(broker: ApprovalBroker, idleMs?: number) {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-flood-'));
  chmodSync(dir, 0o700);
  const path = join(dir, 'control.sock');
  const secret = newSecret();
  const proxy = { url: 'http://127.0.0.1:1', pid: process.pid };
  const channel = await listenControl(path, broker, silentLogger, { secret, proxy, idleMs });
  onCleanup(() => channel.close());
  const sock = connect({ path });
  onCleanup(() => sock.destroy());
  await new Promise<void>((r) => sock.once('connect', () => r()));
  return { sock, secret };
}

/** The proxy's own end of a connection in this process: every socket but `ours`. */
function serverSide(ours: Socket): Socket[] {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h): h is Socket => h instanceof Socket && h !== ours && !h.destroyed);
}

describe('control channel: flood', () => {
  it('a client that never reads cannot make the proxy queue megabytes of answers; reading, it gets them all', async () => {
    const broker = await brokerWithGrants(60);
    const { sock, secret } = await channelAt(broker);
    const proof = await handshake(sock, secret);
    sock.pause(); // never read
    const line = '{"op":"status"}\n';
    sock.write(`${JSON.stringify({ op: 'status', proof })}\n${line.repeat(1_999)}`);
    // Until the proxy stops reading this client (backpressure) or holds more than the bound.
    let held = 0;
    let stopped = false;
    for (let i = 0; i < 500 && !stopped && held <= LIMIT; i++) {
      const ends = serverSide(sock).filter((s) => s.writableLength > 0);
      held = Math.max(0, ...ends.map((s) => s.writableLength));
      stopped = ends.some((s) => s.readableFlowing === false);
      await pause(20);
    }
    held = Math.max(held, ...serverSide(sock).map((s) => s.writableLength));
    assert.ok(
      held <= LIMIT,
      `the proxy holds ${(held / 1e6).toFixed(1)} MB of unread answers for one connection (32 KB sent)`,
    );
    assert.ok(stopped, 'the proxy stopped reading the client that does not read');
    // Now it reads: every request is answered, nothing dropped.
    let answers = 0;
    let tail = '';
    sock.setEncoding('utf8');
    const all = new Promise<number>((resolve) => {
      sock.on('data', (c: string) => {
        for (let i = c.indexOf('\n'); i >= 0; i = c.indexOf('\n', i + 1)) answers++;
        tail = (tail + c).slice(-20_000);
        if (answers >= 2_000) resolve(answers);
      });
      sock.on('close', () => resolve(answers));
    });
    sock.resume();
    assert.equal(await all, 2_000);
    const last = JSON.parse(tail.trimEnd().split('\n').at(-1)!) as { ok: boolean };
    assert.equal(last.ok, true);
  });

  it('blank lines do not keep a connection: it is closed when no request came for the idle time', async () => {
    const broker = await brokerWithGrants(0);
    const { sock, secret } = await channelAt(broker, 300);
    const proof = await handshake(sock, secret);
    sock.write(`${JSON.stringify({ op: 'status', proof })}\n`);
    let closed = false;
    sock.on('close', () => (closed = true));
    sock.on('error', () => {});
    // A blank line every 50 ms, for at most 10 s (the idle time is 300 ms).
    for (let i = 0; i < 200 && !closed; i++) {
      sock.write('\n');
      await pause(50);
    }
    assert.equal(closed, true, 'a trickle of blank lines kept the connection open');
  });
});
