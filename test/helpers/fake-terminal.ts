// A terminal in memory for the terminal prompter: a raw-mode TTY input the test types
// into, and a TTY output (100 columns) whose every byte is kept.
import { PassThrough } from 'node:stream';
import type { ReadStream } from 'node:tty';

export interface FakeTerminal {
  input: ReadStream;
  output: PassThrough & { isTTY: true; columns: number; rows: number };
  /** Everything written to the output so far, control sequences included. */
  written(): string;
  /** One read of `text` from the keyboard (a key, or a whole paste). */
  type(text: string): void;
}

export function fakeTerminal(rows = 50): FakeTerminal {
  const input = Object.assign(new PassThrough(), {
    setRawMode: () => input,
    isTTY: true,
  }) as unknown as ReadStream;
  const output = Object.assign(new PassThrough(), { isTTY: true as const, columns: 100, rows });
  let text = '';
  output.on('data', (c: Buffer) => void (text += c.toString()));
  return {
    input,
    output,
    written: () => text,
    type: (t) => void input.emit('data', Buffer.from(t)),
  };
}
