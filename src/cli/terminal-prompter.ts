// The approval prompt on a terminal, for `--console`: one request at a time with "1 of N",
// single keys (y once, a for the grant period, n deny). Keys typed before a prompt shows
// and for a moment after each answer are dropped, so typing meant for something else
// cannot approve. Ctrl-C stays "stop the proxy".
import type { ReadStream } from 'node:tty';
import type { ApprovalBroker, PendingRequest, Prompter } from '../core/approval/approval-broker.js';
import { headline, requestLines } from '../core/approval/request-view.js';

export const ARM_DELAY_MS = 500;

export interface TerminalPrompterOptions {
  broker: ApprovalBroker;
  input: ReadStream;
  output: NodeJS.WritableStream;
  onInterrupt: () => void;
  now?: () => number;
}

export class TerminalPrompter implements Prompter {
  private current: PendingRequest | undefined;
  private armedAt = Infinity;
  private detach: (() => void) | undefined;
  private readonly now: () => number;
  private readonly onData = (chunk: Buffer) => {
    for (const byte of chunk) this.key(byte);
  };

  constructor(private readonly o: TerminalPrompterOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.o.input.setRawMode(true);
    this.o.input.on('data', this.onData);
    this.o.input.resume();
    this.detach = this.o.broker.attach(this);
  }

  stop(): void {
    this.detach?.();
    this.o.input.off('data', this.onData);
    if (this.o.input.isTTY) this.o.input.setRawMode(false);
    this.o.input.pause();
  }

  update(queue: readonly PendingRequest[]): void {
    const head = queue[0];
    if (head?.id === this.current?.id) {
      if (head && queue.length > 1) this.write(`  (${queue.length} requests waiting)\n`);
      return;
    }
    this.current = head;
    if (!head) return;
    this.armedAt = this.now() + ARM_DELAY_MS;
    this.render(head, queue);
  }

  private write(text: string): void {
    this.o.output.write(text);
  }

  private render(r: PendingRequest, queue: readonly PendingRequest[]): void {
    const minutes = Math.round(this.o.broker.grantMs / 60_000);
    const secs = Math.max(0, Math.round((r.deadline - this.now()) / 1000));
    const same = queue.filter((q) => q.group === r.group && q.id !== r.id);
    const lines = [
      '',
      `━━ Approve signature? (1 of ${queue.length}) ━━`,
      `  ${headline(r.description)}`,
      ...requestLines(r).map((l) => `  ${l.label.padEnd(11)} ${l.value}`),
      `  Expires in ${secs} s (denied if unanswered)`,
    ];
    if (same.length > 0) {
      const subjects = same.slice(0, 5).map((q) => `    · ${headline(q.description)}`);
      lines.push(`  Also waiting from this client with this key (${same.length}):`, ...subjects);
      if (same.length > 5) lines.push(`    · …and ${same.length - 5} more`);
      lines.push(`  [a] allows these too, for ${minutes} min`);
    }
    lines.push(
      `  [y] allow once   [a] allow for ${minutes} min (this client, key, namespace)   [n] deny`,
      '',
    );
    this.write(lines.join('\n'));
  }

  private key(byte: number): void {
    if (byte === 0x03) return this.o.onInterrupt(); // Ctrl-C
    const r = this.current;
    if (!r || this.now() < this.armedAt) return; // typed before the prompt, or too soon after
    const ch = String.fromCharCode(byte).toLowerCase();
    const answer =
      ch === 'y' ? 'allow-once' : ch === 'a' ? 'allow-for-grant' : ch === 'n' ? 'deny' : null;
    if (!answer) return;
    this.armedAt = this.now() + ARM_DELAY_MS;
    const label =
      answer === 'deny'
        ? 'denied'
        : answer === 'allow-once'
          ? 'allowed once'
          : 'allowed for the grant period';
    if (this.o.broker.answer({ id: r.id }, answer)) this.write(`  → ${label}\n`);
  }
}
