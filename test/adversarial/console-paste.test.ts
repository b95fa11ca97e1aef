// A paste into the console (src/cli/terminal-prompter.ts). A person pastes a command into
// the terminal that runs `--console` (the wrong tab, a slip) while a sandbox's request waits
// on screen. The whole paste arrives as one read; were every byte a key, any y / a / n / g /
// p / 1-9 inside ordinary text would act:
//   "git commit -am wip"  → `a` ALLOWS the request AND GRANTS the client 10 minutes;
//   "npm test"            → `p` would toggle a pause off;
//   "git show HEAD~1"     → g opens the grants list, `1` revokes grant 1.
// Expected: a bracketed paste (ESC[200~…ESC[201~, switched on by the prompter) and any read
// that carries more than one printable key answer, toggle and revoke nothing — while single
// keys typed one per read still work (so these tests cannot pass by ignoring everything).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Decision } from '../../src/core/approval/approval-broker.js';
import { describe as describeBytes } from '../../src/core/approval/describe.js';
import { LiveRegion } from '../../src/cli/live-region.js';
import { ARM_DELAY_MS, TerminalPrompter } from '../../src/cli/terminal-prompter.js';
import { fakeTerminal } from '../helpers/fake-terminal.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { promptBroker } from '../helpers/prompt-broker.js';

function setup() {
  let interrupts = 0;
  const time = new ManualClock(1_000_000);
  const { input, output, written: screen, type: paste } = fakeTerminal();
  const broker = promptBroker(time);
  const p = new TerminalPrompter({
    broker,
    input,
    screen: new LiveRegion(output, { TERM: 'xterm' }),
    onInterrupt: () => void interrupts++,
    clock: time,
  });
  p.start();
  const client = { id: 'tok-1', name: 'sandbox', address: '172.17.0.2' };
  const key = { fingerprint: 'SHA256:k', type: 'ssh-ed25519', comment: '', label: 'ED25519' };
  const ask = (what: string) => broker.decide(client, key, 'git', describeBytes(Buffer.from(what)));
  const grantOne = async () => {
    const d = ask('granted earlier');
    time.advance(ARM_DELAY_MS);
    paste('a');
    assert.equal((await d).allowed, true);
    assert.equal(broker.grants().length, 1);
    time.advance(ARM_DELAY_MS);
  };
  return {
    time,
    broker,
    p,
    ask,
    paste,
    grantOne,
    screen,
    interrupts: () => interrupts,
  };
}

const settled = (d: Promise<Decision>) =>
  Promise.race([d, new Promise<'pending'>((r) => setImmediate(() => r('pending')))]);

const BRACKETED = (text: string) => `\x1b[200~${text}\x1b[201~`;

describe('a paste into the console is never keys', () => {
  it('switches bracketed paste on at start and off at stop', () => {
    const { p, screen } = setup();
    assert.ok(screen().startsWith('\x1b[?2004h'), JSON.stringify(screen().slice(0, 20)));
    p.stop();
    assert.ok(screen().includes('\x1b[?2004l'), 'bracketed paste switched off at stop');
  });

  for (const [how, wrap] of [
    ['one read, no bracketed paste', (t: string) => t],
    ['bracketed', BRACKETED],
  ] as const) {
    it(`${how}: a pasted command does not approve the waiting request, nor grant its client`, async () => {
      const { time, broker, p, ask, paste, screen } = setup();
      const req = ask('commit from the sandbox');
      time.advance(ARM_DELAY_MS * 4); // the prompt has been on screen for 2 s
      paste(wrap('git commit -am wip\r'));
      const d = await settled(req);
      assert.equal(broker.grants().length, 0, 'the paste granted the sandbox 10 minutes');
      assert.equal(d, 'pending', 'the paste answered the request');
      assert.match(screen(), /pasted text ignored/);
      paste('n'); // typed: one key per read still answers
      assert.equal((await req).allowed, false);
      p.stop();
    });

    it(`${how}: a pasted "git show HEAD~1" (g…1) does not revoke grant 1`, async () => {
      const { broker, p, paste, grantOne } = setup();
      await grantOne();
      paste(wrap('git show HEAD~1\r'));
      assert.equal(broker.grants().length, 1, 'the paste revoked a grant');
      paste('g');
      paste('1');
      assert.equal(broker.grants().length, 0, 'typed g then 1 revokes');
      p.stop();
    });
  }

  it('bracketed: a paste split over reads is dropped whole, keys after its end count', async () => {
    const { time, broker, p, ask, paste } = setup();
    const req = ask('commit from the sandbox');
    time.advance(ARM_DELAY_MS * 4);
    for (const piece of ['\x1b[20', '0~', 'y', 'a', '\x1b[201', '~']) paste(piece);
    assert.equal(await settled(req), 'pending', 'a key inside the paste answered');
    assert.equal(broker.grants().length, 0);
    paste('y');
    assert.equal((await req).allowed, true);
    p.stop();
  });

  it('a paste whose end never comes swallows keys, but Ctrl-C still stops the proxy', async () => {
    const { time, p, ask, paste, interrupts } = setup();
    const req = ask('commit from the sandbox');
    time.advance(ARM_DELAY_MS * 4);
    paste('\x1b[200~git commit -am wip');
    paste('y');
    assert.equal(await settled(req), 'pending', 'a key inside the unfinished paste answered');
    paste('\x03');
    assert.equal(interrupts(), 1);
    p.stop();
  });

  it('a pasted command does not resume signing the person paused; p never resumes, r does once armed', () => {
    const { time, broker, p, paste } = setup();
    paste('p');
    assert.equal(broker.paused, true, 'p pauses');
    time.advance(ARM_DELAY_MS * 4);
    paste('npm test\r');
    paste(BRACKETED('npm run'));
    paste('p');
    assert.equal(broker.paused, true, 'a paste or p resumed signing');
    p.stop();
  });

  it('r resumes only after the pause has been on screen for the arming delay', () => {
    const { time, broker, p, paste } = setup();
    broker.setPaused(true); // from the tray or another terminal
    paste('r');
    assert.equal(broker.paused, true, 'r right after the pause appeared resumed');
    time.advance(ARM_DELAY_MS);
    paste('r');
    assert.equal(broker.paused, false, 'r after the delay resumes');
    p.stop();
  });
});
