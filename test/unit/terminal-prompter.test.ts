// The arming window, with an injected clock (the real-pty test covers the rest).
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { ReadStream } from 'node:tty';
import { describe, it } from 'node:test';
import { ApprovalBroker } from '../../src/core/approval/approval-broker.js';
import { describe as describeBytes } from '../../src/core/approval/describe.js';
import { ARM_DELAY_MS, TerminalPrompter } from '../../src/cli/terminal-prompter.js';

describe('terminal prompter arming', () => {
  it('drops keys within the arming delay after a prompt appears and after each answer', async () => {
    let now = 0;
    const input = Object.assign(new PassThrough(), {
      setRawMode: () => input,
      isTTY: true,
    }) as unknown as ReadStream;
    const output = new PassThrough();
    const broker = new ApprovalBroker({
      policy: 'prompt',
      timeoutMs: 60_000,
      grantMs: 60_000,
      grantMaxUses: 0,
      maxPending: 10,
      maxPendingPerClient: 10,
    });
    const p = new TerminalPrompter({
      broker,
      input,
      output,
      onInterrupt: () => {},
      now: () => now,
    });
    p.start();
    const client = { id: 'local', name: 'c', address: '127.0.0.1' };
    const key = { fingerprint: 'SHA256:k', type: 'ssh-ed25519', comment: '', label: 'ED25519' };
    const d = describeBytes(Buffer.from('hello'));
    const first = broker.decide(client, key, 'git', d);
    const second = broker.decide(client, key, 'git', d);
    const press = (k: string) => input.emit('data', Buffer.from(k));
    now += ARM_DELAY_MS - 1;
    press('y');
    assert.equal(broker.queue().length, 2, 'too soon after the prompt appeared');
    now += 1;
    press('y');
    assert.equal((await first).allowed, true);
    assert.equal(broker.queue().length, 1);
    now += ARM_DELAY_MS - 1;
    press('n');
    assert.equal(broker.queue().length, 1, 'a double press does not answer the next request');
    now += 1;
    press('n');
    assert.equal((await second).allowed, false);
    p.stop();
  });
});
