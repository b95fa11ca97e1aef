// The connection gate on real loopback sockets: a source's share, the silent one closed
// first to make room, a token-authenticated connection leaving its source's budget, and
// the reserve no unauthenticated connection takes.
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { ConnectionGate } from '../../src/core/http/connection-gate.js';
import { silentLogger } from '../../src/core/logger.js';
import { onCleanup, waitFor } from '../helpers/openssh.js';

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
