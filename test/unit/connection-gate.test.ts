// The connection gate on real loopback sockets: a source's share, the silent one closed
// first to make room, a token-authenticated connection leaving its source's budget, and
// the reserve no unauthenticated connection takes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { ConnectionGate } from '../../src/core/http/connection-gate.js';
import { silentLogger } from '../../src/core/logger.js';
import { onCleanup, tempDir, waitFor } from '../helpers/openssh.js';

async function served(gate: ConnectionGate, source: (n: number) => string) {
  const accepted: Socket[] = [];
  let n = 0;
  const server: Server = createServer((s) => {
    s.resume();
    if (gate.accept(s, source(n++))) accepted.push(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  onCleanup(() => server.close());
  const port = (server.address() as { port: number }).port;
  const open = async (send?: string) => {
    const before = n;
    const c = connect(port, '127.0.0.1');
    onCleanup(() => c.destroy());
    c.on('error', () => {});
    c.resume();
    await new Promise<void>((r) => c.once('connect', () => r()));
    if (send) c.write(send);
    await waitFor(() => n > before, 5_000, 'the server to accept');
    return c;
  };
  return { accepted, open };
}

const gate = (o: Partial<ConstructorParameters<typeof ConnectionGate>[0]> = {}) =>
  new ConnectionGate({
    total: 100,
    perSource: 3,
    reserve: 10,
    silentMs: 60_000,
    log: silentLogger,
    what: 'test',
    ...o,
  });

describe('connection gate', () => {
  it('a client that sent at once is not closed as silent because the proxy was busy', async () => {
    const g = gate({ silentMs: 20 });
    const sent = join(tempDir('sap-gate-'), 'sent');
    let kept: Socket | undefined;
    const server = createServer((s) => {
      s.resume();
      if (!g.accept(s, 'busy')) return;
      kept = s;
      // The proxy's one thread busy past the silent deadline until the client's bytes wait
      // unread in the kernel (it says so with a file): the timer comes due before the read.
      const start = Date.now();
      while (!existsSync(sent) || Date.now() - start < 40) {
        if (Date.now() - start > 20_000) break;
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    onCleanup(() => server.close());
    const port = (server.address() as { port: number }).port;
    // The client is another process, so it sends while this one is busy.
    const client = spawn(process.execPath, [
      '-e',
      `const c = require('node:net').connect(${port}, '127.0.0.1', () =>
         c.write('GET / HTTP/1.1\\r\\n', () => require('node:fs').writeFileSync(${JSON.stringify(sent)}, '')));
       c.on('error', () => {}); setTimeout(() => process.exit(0), 30000);`,
    ]);
    onCleanup(() => client.kill());
    await waitFor(() => kept !== undefined && kept.bytesRead > 0, 10_000, 'the bytes to be read');
    assert.equal(kept!.destroyed, false, 'kept: it was not silent');
  });

  it("a full source's oldest silent connection makes room; one that sent bytes is kept longer", async () => {
    const g = gate();
    const { accepted, open } = await served(g, () => 'one');
    await open('hello'); // sent bytes: not silent
    await waitFor(() => accepted[0]!.bytesRead > 0, 5_000, 'bytes to arrive');
    await open();
    await open();
    assert.equal(g.held('one'), 3);
    await open();
    assert.equal(g.held('one'), 3, 'still its share');
    assert.equal(accepted[1]!.destroyed, true, 'the oldest silent one was closed');
    assert.equal(accepted[0]!.destroyed, false, 'the one that sent bytes was kept');
  });

  it('an authenticated connection leaves its source budget; other sources have their own', async () => {
    const g = gate();
    let i = 0;
    const { accepted, open } = await served(g, () => (i++ < 3 ? 'a' : 'b'));
    for (let k = 0; k < 3; k++) await open();
    g.authenticated(accepted[0]!);
    assert.equal(g.held('a'), 2);
    await open();
    assert.equal(g.held('b'), 1);
    assert.equal(accepted[0]!.destroyed, false);
  });

  it('all unauthenticated connections together leave the reserve free', async () => {
    const g = gate({ total: 6, perSource: 6, reserve: 2 });
    let i = 0;
    const { accepted, open } = await served(g, () => `s${i++}`);
    for (let k = 0; k < 5; k++) await open();
    assert.equal(g.held(), 4, 'total − reserve');
    assert.equal(accepted[0]!.destroyed, true, 'the oldest made room');
  });

  it('a connection that sends nothing is closed at the silent deadline', async () => {
    const g = gate({ silentMs: 200 });
    const { accepted, open } = await served(g, () => 'quiet');
    const c = await open();
    await new Promise<void>((r) => c.once('close', () => r()));
    assert.equal(accepted[0]!.destroyed, true);
    await waitFor(() => g.held('quiet') === 0, 5_000, 'the gate to forget it');
  });
});
