// A group answer covering a program the person never saw (review 2, issue #19). A group was
// client + key + namespace; tokenless, every loopback caller is the one client `local`, so
// while a person answered a `git rebase --exec` group shown with "Program: git (pid …)",
// another process could queue a commit of its own into the same group, and `Y` (allow all
// listed) signed it, its program never shown. Now requests of programs that read
// differently (name, executable, parent names, container — not pids) are kept out of one
// group: Y answers the rebase's commits, and the other program's request is then asked on
// its own, its Program line shown.
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

const git = (pid: number): PeerProcess => ({
  pid,
  name: 'git',
  exe: '/usr/bin/git',
  parents: [{ pid: 2000, name: 'bash' }],
});
const other: PeerProcess = {
  pid: 3001,
  name: 'python3',
  exe: '/usr/bin/python3.11',
  parents: [{ pid: 1, name: 'systemd' }],
};

describe('group answers and the Program line', () => {
  it('Y answers only the shown program’s requests; another program’s is asked on its own', async () => {
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
    // Each commit of a rebase is a new process (a new pid): still one group.
    const mine = [ask('rebase 1', git(2001)), ask('rebase 2', git(2002))];
    const theirs = ask('Add deploy key', other);
    let theirsSettled = false;
    void theirs.then(() => (theirsSettled = true));
    const CONTROL = new RegExp(`${String.fromCharCode(0x1b)}\\[[0-9;]*[A-Za-z]|\r`, 'g');
    const lastPrompt = () => {
      const screen = text.replace(CONTROL, '');
      return screen.slice(screen.lastIndexOf('Approve'));
    };
    time.advance(ARM_DELAY_MS);
    const first = lastPrompt();
    assert.match(first, /rebase 2/, `the group lists its subjects:\n${first}`);
    assert.doesNotMatch(first, /Add deploy key/, `another program's request is listed:\n${first}`);
    input.emit('data', Buffer.from('Y'));
    for (const d of await Promise.all(mine)) assert.ok(d.allowed);
    await Promise.resolve();
    assert.equal(theirsSettled, false, 'Y answered the other program’s request');
    assert.equal(broker.queue().length, 1);
    time.advance(ARM_DELAY_MS);
    const second = lastPrompt();
    assert.match(second, /Add deploy key/);
    assert.match(second, /Program +python3 \(pid 3001, exe \/usr\/bin\/python3\.11\) ← systemd/);
    input.emit('data', Buffer.from('n'));
    const decided = await theirs;
    p.stop();
    assert.equal(decided.allowed, false);
  });
});
