// A relay in front of a real agent socket that counts what reaches the agent, by message
// type: the proof that a denied request never produced a SIGN_REQUEST.
import { connect, createServer } from 'node:net';
import { localSocketPath, onCleanup } from './openssh.js';

export interface RecordingRelay {
  sock: string;
  received: number[];
  count(type: number): number;
}

export async function startRecordingRelay(dir: string, upstream: string): Promise<RecordingRelay> {
  const sock = localSocketPath(dir, `relay-${Math.random().toString(36).slice(2)}.sock`);
  const received: number[] = [];
  const server = createServer((client) => {
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
  onCleanup(() => server.close());
  return { sock, received, count: (t) => received.filter((x) => x === t).length };
}
