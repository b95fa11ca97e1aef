// Review 2 (attacker's view) — a group answer covers programs the person never saw.
// A group is client + key + namespace (approval-broker groupOf); the Program line is not
// part of it, and the terminal prompter lists the group's other requests by headline only
// (`· Sign git commit "…"`). Tokenless, every loopback caller is the one client `local`:
// while a person answers a `git rebase --exec` group shown with "Program: git (pid …)",
// another process queues a commit of its own into the same group, and `Y` (allow all
// listed) signs it, its program never shown. The decision is right by the model (the
// program is information), but the information shown is the first request's only.
// Suggested: list a subject's program where it differs from the current one's (and in the
// tray's group list), or keep differing programs out of one group answer.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { ReadStream } from 'node:tty';
import { describe, it } from 'node:test';
import { ApprovalBroker, type Clock } from '../../src/core/approval/approval-broker.js';
import { describe as describeBytes } from '../../src/core/approval/describe.js';
import { LiveRegion } from '../../src/cli/live-region.js';
import { ARM_DELAY_MS, TerminalPrompter } from '../../src/cli/terminal-prompter.js';
import type { PeerProcess } from '../../src/core/peer/peer-process.js';
import { commitObject } from '../helpers/fixtures.js';

function clockByHand() {
  let now = 1_000_000;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let next = 0;
  const clock: Clock = {
    now: () => now,
    setTimer(fn, ms) {
      const id = next++;
      timers.set(id, { at: now + ms, fn });
      return () => timers.delete(id);
    },
  };
  const advance = (ms: number) => {
    const end = now + ms;
    for (;;) {
      const due = [...timers.entries()]
        .filter(([, t]) => t.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      timers.delete(due[0]);
      now = due[1].at;
      due[1].fn();
    }
    now = end;
  };
  return { clock, advance };
}

const git: PeerProcess = {
  pid: 2001,
  name: 'git',
  parents: [{ pid: 2000, name: 'bash' }],
};
const other: PeerProcess = {
  pid: 3001,
  name: 'python3',
  parents: [{ pid: 1, name: 'systemd' }],
};

describe('review2: group answers and the Program line', () => {
  it('a listed request from another program shows that program before Y answers it', async () => {
    const time = clockByHand();
    const input = Object.assign(new PassThrough(), {
      setRawMode: () => input,
      isTTY: true,
    }) as unknown as ReadStream;
    let text = '';
    const output = Object.assign(new PassThrough(), { isTTY: true, columns: 100, rows: 50 });
    output.on('data', (c: Buffer) => (text += c.toString()));
    const broker = new ApprovalBroker({
      policy: 'prompt',
      timeoutMs: 60_000,
      grantMs: 600_000,
      grantMaxUses: 0,
      maxPending: 64,
      maxPendingPerClient: 64,
      clock: time.clock,
    });
    const p = new TerminalPrompter({
      broker,
      input,
      screen: new LiveRegion(output, { TERM: 'xterm' }),
      onInterrupt: () => {},
      clock: time.clock,
    });
    p.start();
    const base = { id: 'local', name: 'local 127.0.0.1', address: '127.0.0.1' };
    const key = { fingerprint: 'SHA256:k', type: 'ssh-ed25519', comment: '', label: 'ED25519' };
    const ask = (subject: string, program: PeerProcess) =>
      broker.decide({ ...base, program }, key, 'git', describeBytes(commitObject(subject)));
    const mine = [ask('rebase 1', git), ask('rebase 2', git)];
    const theirs = ask('Add deploy key', other);
    time.advance(ARM_DELAY_MS);
    const CONTROL = new RegExp(`${String.fromCharCode(0x1b)}\\[[0-9;]*[A-Za-z]|\r`, 'g');
    const screen = text.replace(CONTROL, '');
    const prompt = screen.slice(screen.lastIndexOf('Approve'));
    input.emit('data', Buffer.from('Y'));
    const decided = await theirs;
    await Promise.all(mine);
    p.stop();
    assert.ok(decided.allowed, 'Y allowed the other program’s commit');
    assert.match(prompt, /python3/, `what the person saw before Y:\n${prompt}`);
  });
});
