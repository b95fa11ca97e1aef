// Review (attacker's view) of the control channel: a client that sends many short requests
// and never reads the answers. Each {"op":"status"} (16 bytes) is answered with every live
// grant; the server writes each answer with no regard for backpressure and keeps reading,
// so the proxy's memory holds every unread answer. 2,000 requests (32 KiB sent) with 60
// live grants make ~25 MB of answers queued in the proxy for one connection; eight such
// connections, repeated, grow the proxy without bound. Expected: the server stops reading
// (or closes the connection) once a connection has more than a bounded amount unread.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ApprovalBroker } from '../../src/core/approval/approval-broker.js';
import { describe as describeBytes } from '../../src/core/approval/describe.js';
import { listenControl } from '../../src/core/control/control-socket.js';
import { silentLogger } from '../../src/core/logger.js';

const LIMIT = 1 << 20; // what one connection may make the proxy hold unread, generously

describe('review: control channel flood', () => {
  it('a client that never reads cannot make the proxy queue megabytes of answers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rv-ctl-'));
    chmodSync(dir, 0o700);
    const broker = new ApprovalBroker({
      policy: 'prompt',
      timeoutMs: 60_000,
      grantMs: 600_000,
      grantMaxUses: 0,
      maxPending: 64,
      maxPendingPerClient: 64,
    });
    broker.attach({ update: () => {} });
    const client = { id: 'local', name: 'local 127.0.0.1', address: '127.0.0.1' };
    for (let i = 0; i < 60; i++) {
      const fp = `SHA256:${String(i).padStart(43, 'A')}`;
      const key = { fingerprint: fp, type: 'ssh-ed25519', comment: '', label: 'ED25519 a comment' };
      const d = broker.decide(client, key, 'git', describeBytes(Buffer.from(`x${i}`)));
      broker.answer({ id: broker.queue()[0]!.id }, 'allow-for-grant');
      await d;
    }
    assert.equal(broker.grants().length, 60);
    const path = join(dir, 'control.sock');
    const channel = await listenControl(path, broker, silentLogger);
    const sock = connect({ path });
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.pause(); // never read
    const line = '{"op":"status"}\n';
    sock.write(line.repeat(2_000));
    await new Promise((r) => setTimeout(r, 1_500));
    // The proxy's own end of this connection: how much it holds, unsent.
    const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
    const serverSide = handles.filter(
      (h): h is Socket => h instanceof Socket && h !== sock && (h as Socket).writableLength > 0,
    );
    const held = Math.max(0, ...serverSide.map((s) => s.writableLength));
    sock.destroy();
    channel.close();
    assert.ok(
      held <= LIMIT,
      `the proxy holds ${(held / 1e6).toFixed(1)} MB of unread answers for one connection (32 KB sent)`,
    );
  });
});
