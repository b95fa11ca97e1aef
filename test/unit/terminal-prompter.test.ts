// The terminal prompter's rules with an injected clock on a real broker (the real-pty test
// covers what a person sees): when keys count, what a group key answers, escape sequences,
// outcomes of requests answered elsewhere, and timers cleared on stop.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Decision } from '../../src/core/approval/approval-broker.js';
import { describe as describeBytes } from '../../src/core/approval/describe.js';
import { LiveRegion, wrapLine, widthOf } from '../../src/cli/live-region.js';
import {
  ARM_DELAY_MS,
  MAX_LISTED,
  TerminalPrompter,
  type TerminalPrompterOptions,
} from '../../src/cli/terminal-prompter.js';
import { fakeTerminal } from '../helpers/fake-terminal.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { promptBroker } from '../helpers/prompt-broker.js';

function setup(rows = 50, extra: Partial<TerminalPrompterOptions> = {}) {
  const time = new ManualClock(1_000_000);
  const { input, output, written, type: press } = fakeTerminal(rows);
  const broker = promptBroker(time);
  const screen = new LiveRegion(output, { TERM: 'xterm' });
  const p = new TerminalPrompter({
    broker,
    input,
    screen,
    onInterrupt: () => {},
    clock: time,
    ...extra,
  });
  p.start();
  const client = { id: 'local', name: 'local 127.0.0.1', address: '127.0.0.1' };
  const key = { fingerprint: 'SHA256:k', type: 'ssh-ed25519', comment: '', label: 'ED25519' };
  const ask = (what: string, c = client) =>
    broker.decide(c, key, 'git', describeBytes(Buffer.from(what)));
  // The screen as text with the terminal's control sequences taken out.
  const CONTROL = new RegExp(`${String.fromCharCode(0x1b)}\\[[0-9;]*[A-Za-z]|\r`, 'g');
  const shown = () => written().replace(CONTROL, '');
  return { time, broker, p, ask, press, shown, client, key };
}

const settled = (d: Promise<Decision>) =>
  Promise.race([d.then((x) => x), new Promise<'pending'>((r) => setImmediate(() => r('pending')))]);

describe('terminal prompter', () => {
  it('drops keys within the arming delay after a prompt appears and after each answer, and says so', async () => {
    const { time, broker, ask, press, shown, p } = setup();
    const first = ask('hello');
    const second = ask('hello');
    time.advance(ARM_DELAY_MS - 1);
    press('y');
    assert.equal(broker.queue().length, 2, 'too soon after the prompt appeared');
    assert.match(shown(), /\(key ignored — wait a moment\)\n$/);
    time.advance(1);
    press('y');
    assert.equal((await first).allowed, true);
    assert.equal(broker.queue().length, 1);
    time.advance(ARM_DELAY_MS - 1);
    press('n');
    assert.equal(broker.queue().length, 1, 'a double press does not answer the next request');
    time.advance(1);
    press('n');
    assert.equal((await second).allowed, false);
    p.stop();
  });

  it('a group key answers exactly the listed requests; a change to the list re-arms the keys', async () => {
    const { time, broker, ask, press, shown, p } = setup();
    const first = [ask('one'), ask('two'), ask('three')];
    time.advance(ARM_DELAY_MS);
    // A request joins the group at the very moment the key is pressed: the list on screen
    // changed, so the key does not count — it would have answered something unseen.
    const joiner = ask('four');
    press('a');
    press('Y');
    press('N');
    assert.equal(broker.queue().length, 4);
    assert.equal(broker.grants().length, 0);
    assert.match(shown(), /\(key ignored — wait a moment\)\n$/);
    // Fill the group past what is listed: the unlisted ones are not answered.
    const rest = Array.from({ length: MAX_LISTED }, (_, i) => ask(`more ${i}`));
    const groupSize = () => first.length + 1 + rest.length;
    time.advance(ARM_DELAY_MS);
    const unlisted = groupSize() - (MAX_LISTED + 1);
    assert.match(
      shown().slice(shown().lastIndexOf('Approve')),
      new RegExp(`…and ${unlisted} more, not answered by the keys below`),
    );
    press('Y');
    const all = [...first, joiner, ...rest];
    const states = await Promise.all(all.map(settled));
    const answered = states.filter((s) => s !== 'pending');
    assert.equal(answered.length, MAX_LISTED + 1, 'the current one and the listed ones');
    assert.ok(answered.every((d) => d.allowed && d.by === 'person'));
    const waiting = Array.from({ length: unlisted }, (_, i) => all.length - unlisted + i);
    assert.deepEqual(
      states.flatMap((st, i) => (st === 'pending' ? [i] : [])),
      waiting,
      'the ones that were not listed still wait',
    );
    assert.equal(broker.grants().length, 0, 'Y allows once, no grant');
    p.stop();
  });

  it('on a short terminal it lists only what fits, and the keys answer only that', async () => {
    const { time, broker, ask, press, shown, p } = setup(20);
    const all = Array.from({ length: 10 }, (_, i) => ask(`short ${i}`));
    time.advance(ARM_DELAY_MS);
    const prompt = shown().slice(shown().lastIndexOf('Approve'));
    assert.ok(prompt.split('\n').length <= 20, prompt);
    const listed = prompt.split('\n').filter((l) => l.startsWith('    · Sign')).length;
    assert.ok(listed > 0 && listed < 9, `${listed} listed`);
    press('Y');
    const states = await Promise.all(all.map(settled));
    assert.equal(states.filter((st) => st !== 'pending').length, listed + 1);
    assert.equal(broker.queue().length, 10 - listed - 1);
    p.stop();
  });

  it('a client that keeps changing its list cannot keep y and n from answering the request shown', async () => {
    const { time, broker, ask, press, p } = setup();
    const shown = ask('on screen');
    time.advance(ARM_DELAY_MS);
    for (let i = 0; i < 3; i++) {
      void ask(`churn ${i}`);
      time.advance(ARM_DELAY_MS / 2);
    }
    press('n');
    const d = await shown;
    assert.equal(d.allowed, false);
    assert.equal(d.by, 'person');
    assert.equal(broker.queue().length, 3, 'only the request on screen was answered');
    p.stop();
  });

  it('escape sequences (arrow keys) are never answers', () => {
    const { time, broker, ask, press, p } = setup();
    void ask('x');
    time.advance(ARM_DELAY_MS);
    press('\x1b[A'); // arrow up: ESC [ A
    press('\x1bOA'); // arrow up in application mode
    press('\x1b[1;5A'); // ctrl-arrow
    press('\x1by'); // alt-y
    assert.equal(broker.queue().length, 1);
    assert.equal(broker.grants().length, 0);
    p.stop();
  });

  it('a request answered elsewhere leaves with its outcome, and the next one is drawn after it', () => {
    const { time, broker, ask, shown, p } = setup();
    void ask('elsewhere');
    void ask('next one');
    const [a] = broker.queue();
    time.advance(10_000);
    broker.answer({ id: a!.id }, 'deny'); // e.g. the tray window
    const text = shown();
    const record = text.lastIndexOf(
      '  · Sign 9 bytes of text — from local 127.0.0.1\n    → withdrawn',
    );
    assert.ok(record > 0, text);
    assert.ok(record < text.lastIndexOf('Approve signature? (1 of 1)'));
    p.stop();
  });

  it('redraws the countdown every second while shown, and leaves no timer behind on stop', () => {
    const { time, ask, shown, p } = setup();
    void ask('tick');
    assert.match(shown(), /Expires in 60 s/);
    time.advance(1_000);
    assert.match(shown(), /Expires in 59 s \(denied if unanswered\)\n[^]*$/);
    time.advance(30_000);
    assert.match(shown().slice(shown().lastIndexOf('Approve')), /Expires in 29 s/);
    p.stop();
    assert.equal(time.timers.length, 1, 'only the broker’s deadline is left');
    assert.match(shown(), /→ denied: the proxy is stopping \(shutting-down\)\n$/);
  });
});

describe('live region', () => {
  it('without a capable terminal appends each changed block and erases nothing', () => {
    let text = '';
    const out = { write: (t: string) => (text += t), isTTY: true, columns: 80 };
    const region = new LiveRegion(out, { TERM: 'dumb' });
    assert.equal(region.interactive, false);
    region.render([], ['prompt 1', 'keys']);
    region.render([], ['prompt 1', 'keys']); // unchanged: not printed again
    region.render([], ['prompt 1', 'keys', 'a note']); // only the added line
    region.render([], ['prompt 1', 'keys']); // the note went: nothing to take back
    region.render(['  · done', '    → allowed once'], ['prompt 2', 'keys']);
    region.around(() => (text += 'a log line\n')); // follows the prompt, which is not repeated
    assert.equal(
      text,
      'prompt 1\nkeys\na note\n  · done\n    → allowed once\nprompt 2\nkeys\na log line\n',
    );
  });

  it('on a terminal erases exactly the rows it drew, wrapped lines included', () => {
    let text = '';
    const out = { write: (t: string) => (text += t), isTTY: true, columns: 11 };
    const region = new LiveRegion(out, { TERM: 'xterm' });
    region.render([], ['short', 'a line longer than ten']); // 1 + 3 rows at width 10
    text = '';
    region.render(['kept'], []);
    assert.equal(text, `${String.fromCharCode(0x1b)}[4A\r${String.fromCharCode(0x1b)}[Jkept\n`);
  });

  it('never lets the terminal wrap a line: rows are cut at the width, wide characters count 2', () => {
    assert.deepEqual(wrapLine('abcdefghijkl', 10), ['abcdefghij', '    kl']);
    assert.deepEqual(wrapLine('abcdef', 2), ['ab', ' c', ' d', ' e', ' f']);
    const cjk = '署名'.repeat(10);
    for (const row of wrapLine(cjk, 9)) assert.ok(widthOf(row) <= 9, row);
    assert.equal(wrapLine(cjk, 9).join('').replace(/ /g, ''), cjk);
  });
});

describe('terminal prompter: grants, pause, alerts', () => {
  /** The live block now on screen: from its last blank-line-led panel or paused line down. */
  const lastPanel = (text: string) => text.slice(text.lastIndexOf('Live grants ('));

  it('a number revokes the grant drawn at it, even after the list changed underneath', async () => {
    const { time, broker, press, shown, client, key } = setup();
    const nsA = broker.decide(client, key, 'git', describeBytes(Buffer.from('a')));
    time.advance(ARM_DELAY_MS);
    press('a');
    assert.equal((await nsA).allowed, true);
    const nsB = broker.decide(client, key, 'other', describeBytes(Buffer.from('b')));
    time.advance(ARM_DELAY_MS);
    press('a');
    assert.equal((await nsB).allowed, true);
    const [a, b] = broker.grants();
    assert.ok(a && b);
    press('3'); // no list open: digits do nothing
    assert.equal(broker.grants().length, 2);
    time.advance(ARM_DELAY_MS);
    press('g');
    assert.match(
      lastPanel(shown()),
      /^Live grants \(2; they end when the proxy stops\): {3}\[1-2\] revoke {3}\[g\] close$/m,
    );
    assert.match(
      shown(),
      new RegExp(
        `\\[1\\] ${a.id.slice(0, 8)}  local 127\\.0\\.0\\.1 · ED25519 SHA256:k · git · 10 min left · 1 used\n`,
      ),
    );
    assert.match(shown(), new RegExp(`\\[2\\] ${b.id.slice(0, 8)} .* · other · `));
    broker.revokeGrant(a.id); // elsewhere (the tray, a second terminal)
    assert.match(lastPanel(shown()), /\[1\] .* {3}\(ended\)\n/);
    press('1');
    assert.match(lastPanel(shown()), /no-such-grant/);
    assert.deepEqual(
      broker.grants().map((g) => g.id),
      [b.id],
      'nothing else was revoked',
    );
    press('2');
    assert.deepEqual(broker.grants(), []);
    assert.match(lastPanel(shown()), new RegExp(`revoked grant ${b.id.slice(0, 8)}\n`));
    press('g');
    const before = shown().length;
    press('1'); // closed again: a digit is nothing
    assert.equal(shown().length, before);
  });

  it('more grants than numbers: the first 9 are numbered and the header says how many there are', async () => {
    const { time, broker, press, shown, client, key } = setup();
    for (let i = 0; i < 12; i++) {
      const d = broker.decide(client, key, `ns${i}`, describeBytes(Buffer.from('x')));
      broker.answer({ id: broker.queue()[0]!.id }, 'allow-for-grant');
      assert.equal((await d).allowed, true);
    }
    time.advance(ARM_DELAY_MS);
    press('g');
    assert.match(
      lastPanel(shown()),
      /^Live grants \(9 of 12 shown; they end when the proxy stops\): {3}\[1-9\] revoke/,
    );
    assert.match(lastPanel(shown()), /\[9\] /);
    assert.doesNotMatch(lastPanel(shown()), /\[10\]/);
  });

  it('p pauses (waiting requests denied, said so) and r resumes once armed; held back while a prompt arms, p at once without one', async () => {
    const { time, broker, ask, press, shown } = setup();
    press('p');
    assert.equal(broker.paused, true, 'no prompt: p works at once');
    assert.match(
      shown(),
      /Signing is PAUSED: every request is refused \(signing-paused\)\. {3}\[r\] resume\n$/,
    );
    press('p');
    assert.equal(broker.paused, true, 'p again does not resume');
    assert.match(shown(), /\(signing is already paused; \[r\] resumes it\)\n$/);
    press('r');
    assert.equal(broker.paused, true, 'r before the pause was on screen for the delay');
    time.advance(ARM_DELAY_MS);
    press('r');
    assert.equal(broker.paused, false);
    const waiting = ask('hello');
    time.advance(ARM_DELAY_MS - 1);
    press('p');
    press('g');
    assert.equal(broker.paused, false, 'p within the arming delay is ignored');
    assert.doesNotMatch(shown(), /Live grants|No live grants/);
    assert.match(shown(), /\(key ignored — wait a moment\)\n$/);
    time.advance(1);
    press('g'); // armed, but a request is on screen: the list waits for it to be answered
    assert.doesNotMatch(shown(), /Live grants|No live grants/);
    assert.match(
      shown(),
      /\(g: the grants list opens when no request waits; answer this one first\)\n$/,
    );
    press('p');
    assert.equal(broker.paused, true);
    const d = await waiting;
    assert.equal(d.allowed, false);
    assert.equal(!d.allowed && d.error.code, 'signing-paused');
    assert.match(shown(), /→ denied: signing was paused \(signing-paused\)\n/);
  });

  it('alert: once for each request that joins the queue, after it is drawn; never for an answer or a redraw', async () => {
    const alerted: string[] = [];
    const onScreen: boolean[] = [];
    const s = setup(50, {
      alert: (r) => {
        alerted.push(r.id);
        onScreen.push(s.shown().includes(`of ${alerted.length}) ━━`));
      },
    });
    const one = s.ask('one');
    const two = s.ask('two');
    assert.equal(alerted.length, 2);
    assert.deepEqual(
      alerted,
      s.broker.queue().map((r) => r.id),
    );
    assert.deepEqual(onScreen, [true, true], 'its prompt was drawn before the alert rang');
    s.time.advance(3_000); // countdown redraws
    s.time.advance(ARM_DELAY_MS);
    s.press('n');
    assert.equal((await one).allowed, false);
    s.time.advance(ARM_DELAY_MS);
    s.press('n');
    assert.equal((await two).allowed, false);
    assert.equal(alerted.length, 2);
  });
});
