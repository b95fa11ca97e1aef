// The terminal's program-scoped grant key (issue #19 item 4): `e` allows the request and
// grants its program's executable (stated on screen) for the grant period; it is offered
// only when the host read the executable, waits for the arming delay like `a`, and a paste
// holding an `e` answers nothing.
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

function setup() {
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
  const input = Object.assign(new PassThrough(), {
    setRawMode: () => input,
    isTTY: true,
  }) as unknown as ReadStream;
  let text = '';
  const output = Object.assign(new PassThrough(), { isTTY: true, columns: 120, rows: 50 });
  output.on('data', (c: Buffer) => (text += c.toString()));
  const broker = new ApprovalBroker({
    policy: 'prompt',
    timeoutMs: 60_000,
    grantMs: 600_000,
    grantMaxUses: 0,
    maxPending: 64,
    maxPendingPerClient: 64,
    clock,
  });
  const prompter = new TerminalPrompter({
    broker,
    input,
    screen: new LiveRegion(output, { TERM: 'xterm' }),
    onInterrupt: () => {},
    clock,
  });
  prompter.start();
  const key = { fingerprint: 'SHA256:k', type: 'ssh-ed25519', comment: '', label: 'ED25519' };
  const base = { id: 'local', name: 'local 127.0.0.1', address: '127.0.0.1' };
  const ask = (program?: PeerProcess) =>
    broker.decide(
      { ...base, ...(program ? { program } : {}) },
      key,
      'git',
      describeBytes(commitObject('wip')),
    );
  const CONTROL = new RegExp(`${String.fromCharCode(0x1b)}\\[[0-9;]*[A-Za-z]|\r`, 'g');
  const screen = () => text.replace(CONTROL, '');
  const type = (s: string) => input.emit('data', Buffer.from(s));
  return { broker, prompter, advance, ask, screen, type, key };
}

const git: PeerProcess = { pid: 4001, name: 'git', exe: '/usr/bin/git', parents: [] };

describe('terminal: allow this program for the grant period', () => {
  it('e grants the executable shown, and only once armed; a paste with e answers nothing', async () => {
    const t = setup();
    const d = t.ask(git);
    t.type('e'); // before the prompt is armed
    t.advance(ARM_DELAY_MS);
    assert.equal(t.broker.queue().length, 1, 'an e typed before arming answered');
    t.type('wip e'); // a paste (several keys in one read)
    assert.equal(t.broker.queue().length, 1, 'a pasted e answered');
    assert.match(t.screen(), /\[e\] allow git \(\/usr\/bin\/git\) only, with this key for 10 min/);
    t.type('e');
    assert.equal((await d).allowed, true);
    const [g] = t.broker.grants();
    assert.equal(g?.program?.exe, '/usr/bin/git');
    assert.match(t.screen(), /granted for 10 min to git \(\/usr\/bin\/git\) only/);
    assert.equal(
      t.broker.decideWithoutPrompt(
        { id: 'local', name: 'x', address: '127.0.0.1', program: { ...git, pid: 4002 } },
        t.key,
        'git',
      )?.allowed,
      true,
    );
    t.prompter.stop();
  });

  it('without a known executable, e is not offered and answers nothing', async () => {
    const t = setup();
    const d = t.ask(undefined);
    t.advance(ARM_DELAY_MS);
    assert.doesNotMatch(t.screen(), /\[e\]/);
    t.type('e');
    assert.equal(t.broker.queue().length, 1);
    assert.equal(t.broker.grants().length, 0);
    t.type('n');
    assert.equal((await d).allowed, false);
    t.prompter.stop();
  });
});
