// A relay in front of a real agent socket that counts what reaches the agent, by message
// type: the proof that a denied request never produced a SIGN_REQUEST. It also counts the
// connections made to it, and can play an agent that closes its clients or talks out of
// turn (for the kept-connection tests).
import { connect, createServer, type Socket } from 'node:net';
import { localSocketPath, onCleanup } from './openssh.js';

export interface RecordingRelay {
  sock: string;
  received: number[];
  count(type: number): number;
  /** Connections accepted so far, and those still open. */
  accepted: number;
  open: ReadonlySet<Socket>;
  /** Resolves once no connection to the relay is open. */
  allClosed(): Promise<void>;
  /** Close every client connection now, as an agent ending idle clients does. */
  dropAll(): void;
  /** Send bytes nobody asked for to every client. */
  pushAll(bytes: Buffer): void;
}

export async function startRecordingRelay(dir: string, upstream: string): Promise<RecordingRelay> {
  const sock = localSocketPath(dir, `relay-${Math.random().toString(36).slice(2)}.sock`);
  const received: number[] = [];
  const open = new Set<Socket>();
  let waiters: (() => void)[] = [];
  const server = createServer((client) => {
    relay.accepted++;
    open.add(client);
    client.on('close', () => {
      open.delete(client);
      if (open.size === 0) for (const w of waiters.splice(0)) w();
    });
    const agent = connect(upstream);
    let buf = Buffer.alloc(0);
    client.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 5 && buf.length >= 4 + buf.readUInt32BE(0)) {
        received.push(buf[4] as number);
        buf = buf.subarray(4 + buf.readUInt32BE(0));
      }
      agent.write(c);
    });
    agent.pipe(client);
    client.on('close', () => agent.destroy());
    agent.on('close', () => client.destroy());
    client.on('error', () => agent.destroy());
    agent.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(sock, r));
  // Open connections too: a test that failed before closing its side must not hold the
  // file open.
  onCleanup(() => {
    for (const c of open) c.destroy();
    server.close();
  });
  const relay: RecordingRelay = {
    sock,
    received,
    count: (t) => received.filter((x) => x === t).length,
    accepted: 0,
    open,
    allClosed: () =>
      open.size === 0 ? Promise.resolve() : new Promise((r) => void waiters.push(r)),
    dropAll: () => {
      for (const c of open) c.destroy();
    },
    pushAll: (bytes) => {
      for (const c of open) c.write(bytes);
    },
  };
  waiters = [];
  return relay;
}
