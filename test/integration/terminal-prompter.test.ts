// The terminal prompter through a real pseudo-terminal: `--console` runs in a tmux pane of
// 120×50, requests arrive over real HTTP from this test, keys are typed with send-keys and
// every assertion reads what tmux shows on screen (capture-pane), like a person would.
// Waiting is always polling the screen for an expected text, bounded by a deadline.
// One rule about timing comes from the prompter itself: keys count only ARM_DELAY_MS after
// what they answer was drawn. Having *seen* a state, waiting that long before a key is
// enough by causality (the prompter drew it before we saw it); keys meant to arrive too
// early cannot be timed from outside, so those checks retry until one did.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { MAX_LISTED } from '../../src/cli/terminal-prompter.js';
import { agentWithKey, commitObject, createToken } from '../helpers/fixtures.js';
import { run, type Agent, type TestKey } from '../helpers/openssh.js';
import { CLI } from '../helpers/proxy.js';
import { count, header, live, openConsoleTerminal, sign, status } from '../helpers/tmux-console.js';
import { needsTmux } from '../helpers/platform.js';

let dir: string;
let agent: Agent;
let key: TestKey;

before(async () => {
  ({ dir, agent, key } = await agentWithKey());
});

const COMMIT = (subject: string) =>
  commitObject(subject, { author: 'Ana <ana@example.test>', parent: null });

// No program lookup: groups are split by program, and whether a lookup is found or runs
// past its budget on a busy machine would decide these tests' groups (peer-in-prompt and
// group-program test the Program line and its groups).
const openTerminal = (env: Record<string, string> = {}) =>
  openConsoleTerminal(dir, agent.sock, env);

describe('terminal prompter in a real pty', { skip: needsTmux }, () => {
  it('shows who, what and which key; y signs; keys typed before a prompt are dropped; Ctrl-C stops', async () => {
    const t = await openTerminal();
    assert.match(
      await t.screen(),
      /approval: requests are shown here; answer y \(once\), a \(grant\), e \(grant for that program only\), n \(deny\)/,
    );
    await t.keys('y', 'y', 'y'); // before any prompt exists: must not approve what comes next
    const first = sign(t.url, COMMIT('Fix login race'));
    await t.until((s) => s.includes(header(1, 1)), 'the prompt');
    const prompt = await t.prompt();
    assert.match(prompt, /^ {2}Sign git commit "Fix login race"$/m);
    assert.match(prompt, /^ {2}Author {6}Ana <ana@example\.test>$/m);
    assert.match(prompt, /^ {2}From {8}local 127\.0\.0\.1$/m);
    assert.ok(prompt.includes(`Fingerprint ${key.fingerprint}`), 'the key fingerprint is shown');
    assert.match(prompt, /^ {2}Expires in \d+ s \(denied if unanswered\)$/m);
    assert.match(
      prompt,
      /^ {2}\[y\] allow once {3}\[a\] allow for 10 min \(this client, key, namespace\) {3}\[n\] deny$/m,
    );
    assert.equal(count(await t.screen(), '→'), 0, 'the early keys were dropped');
    await t.answer('y');
    const r = await first.result;
    assert.ok(r !== 'aborted' && r.status === 200);
    writeFileSync(join(dir, 'p.sig'), r.body);
    const check = await run(
      'ssh-keygen',
      ['-Y', 'check-novalidate', '-n', 'git', '-s', join(dir, 'p.sig')],
      { input: COMMIT('Fix login race') },
    );
    assert.equal(check.code, 0, check.stderr);
    const after = await t.until((s) => s.includes('→ allowed once'), 'the outcome');
    assert.match(
      after,
      / {2}· Sign git commit "Fix login race" — from local 127\.0\.0\.1\n {4}→ allowed once\n/,
    );
    assert.equal(await t.prompt(), '', 'no prompt left on screen once nothing waits');

    await t.keys('C-c'); // raw mode: Ctrl-C is a byte; it still stops the proxy cleanly
    await t.until((s) => /Ctrl-C: shutting down[\s\S]*stopped/.test(s), 'shutdown');
    assert.equal(await t.exitStatus(), '0');
  });

  it('"k of N" follows the queue, the group is listed, outcomes come before the next prompt, the countdown runs', async () => {
    const t = await openTerminal();
    const a = sign(t.url, COMMIT('First of three'));
    await t.until((s) => s.includes(header(1, 1)), 'first prompt');
    const b = sign(t.url, COMMIT('Second of three'));
    await t.until((s) => s.includes(header(1, 2)), '"1 of 2"');
    const c = sign(t.url, COMMIT('Third of three'));
    const three = await t.until((s) => s.includes(header(1, 3)), '"1 of 3"');
    // One prompt on screen, redrawn in place: no stale "1 of 1", no pile of notices.
    assert.equal(count(three, 'Approve signature?'), 1, three);
    const prompt = await t.prompt();
    assert.match(prompt, /^ {2}Sign git commit "First of three"$/m);
    assert.match(
      prompt,
      /^ {2}Also waiting from this client with this key and namespace \(2\):\n {4}· Sign git commit "Second of three"\n {4}· Sign git commit "Third of three"$/m,
    );
    assert.match(
      prompt,
      /^ {2}\[Y\] allow these 3 once {3}\[N\] deny these 3 {3}\(\[a\] allows these 3 too\)$/m,
    );

    // The countdown is live: the number shown goes down.
    const secs = (s: string) =>
      Number(/Expires in (\d+) s/.exec(s.slice(s.lastIndexOf('Approve')))![1]);
    const shown = secs(await t.screen());
    await t.until((s) => secs(s) < shown, 'the countdown to tick');

    // n answers the current one only; its outcome is under it, above the next prompt.
    await t.answer('n');
    assert.equal(await status(a.result), '403 denied-by-user');
    const next = await t.until(
      (s) => s.includes(header(1, 2)) && s.includes('→ denied'),
      'the next prompt',
    );
    const outcome = next.indexOf(
      '  · Sign git commit "First of three" — from local 127.0.0.1\n    → denied\n',
    );
    assert.ok(outcome > 0, next);
    assert.ok(
      outcome < next.lastIndexOf(header(1, 2)),
      'the outcome is printed before the next prompt',
    );
    assert.equal(count(next, 'Approve signature?'), 1);
    assert.match(await t.prompt(), /^ {2}Sign git commit "Second of three"$/m);

    // a: this one and the one listed under it, with a grant for what comes later.
    await t.answer('a');
    assert.equal(await status(b.result), '200');
    assert.equal(await status(c.result), '200');
    const granted = await t.until(
      (s) => s.includes('→ allowed (with that grant)'),
      'group outcome',
    );
    assert.match(
      granted,
      / {2}· Sign git commit "Second of three" — from local 127\.0\.0\.1\n {4}→ allowed, and granted for 10 min \(this client, key, namespace\)\n {2}· Sign git commit "Third of three" — from local 127\.0\.0\.1\n {4}→ allowed \(with that grant\)\n/,
    );
    assert.equal(await t.prompt(), '');
    // The grant covers the next one: no prompt at all.
    const before = count(await t.screen(), 'Approve signature?');
    assert.equal(await status(sign(t.url, COMMIT('Under the grant')).result), '200');
    assert.equal(count(await t.screen(), 'Approve signature?'), before);
  });

  it('a group key answers exactly the requests listed on screen', async () => {
    const t = await openTerminal();
    const total = MAX_LISTED + 2; // the current one, MAX_LISTED listed, one more not listed
    const pending = [sign(t.url, COMMIT('Group 0'))];
    await t.until((s) => s.includes(header(1, 1)), 'first prompt');
    for (let i = 1; i < total; i++) pending.push(sign(t.url, COMMIT(`Group ${i}`)));
    await t.until((s) => s.includes(header(1, total)), `"1 of ${total}"`);
    // They arrive in whatever order the network gives: read which ones are listed.
    const prompt = await t.prompt();
    const listed = [...prompt.matchAll(/^ {4}· Sign git commit "Group (\d+)"$/gm)].map((m) =>
      Number(m[1]),
    );
    assert.equal(listed.length, MAX_LISTED, prompt);
    const unlisted = Array.from({ length: total - 1 }, (_, i) => i + 1).filter(
      (i) => !listed.includes(i),
    );
    assert.equal(unlisted.length, 1);
    assert.match(prompt, /^ {4}· …and 1 more, not answered by the keys below \(shown next\)$/m);
    await t.answer('Y');
    for (const i of [0, ...listed]) assert.equal(await status(pending[i]!.result), '200');
    // The one that was not listed was not answered: it is the prompt now.
    const next = await t.until((s) => s.includes(header(1, 1)), 'the unlisted request');
    assert.match(next.slice(next.lastIndexOf('Approve')), new RegExp(`"Group ${unlisted[0]}"`));
    assert.equal(count(next, '→ allowed once'), MAX_LISTED + 1);
    await t.answer('n');
    assert.equal(await status(pending[unlisted[0]!]!.result), '403 denied-by-user');
  });

  it('a group key too soon after the listed requests change is ignored, and says so', async () => {
    const t = await openTerminal();
    // Each try shows a request, then adds one to its group (the list changes, re-arming the
    // group keys) and types N (deny these 2) at once. A slow machine may deliver n after the delay (then it
    // denies, honestly, and we try again); we need one try where it arrived in time.
    for (let attempt = 1; ; attempt++) {
      const base = sign(t.url, COMMIT(`Base ${attempt}`));
      await t.until((s) => live(s).includes(`"Base ${attempt}"`), `Base ${attempt} shown`);
      const outcomesBefore = count(await t.screen(), '→');
      const joiner = sign(t.url, COMMIT(`Joiner ${attempt}`));
      await t.until(
        (s) => live(s).includes(`    · Sign git commit "Joiner ${attempt}"`),
        `Joiner ${attempt} listed`,
      );
      await t.keys('N');
      const s = await t.until(
        (s) => live(s).includes('(key ignored — wait a moment)') || count(s, '→') > outcomesBefore,
        'the key to be ignored or taken',
      );
      const taken = count(s, '→') > outcomesBefore;
      base.abort();
      joiner.abort();
      await t.until((s) => live(s) === '' && count(s, '→') >= outcomesBefore + 2, 'a clear screen');
      if (!taken) {
        assert.equal(await status(base.result), 'aborted', 'the ignored key answered nothing');
        break;
      }
      assert.ok(attempt < 5, 'the key never arrived within the arming delay');
    }
  });

  it('a request that leaves the queue for any reason takes its prompt with it, and says why', async () => {
    const t = await openTerminal({ SSH_AGENT_PROXY_APPROVAL_TIMEOUT: '5' });
    // The client hangs up: withdrawn.
    const gone = sign(t.url, COMMIT('Hung up'));
    await t.until((s) => s.includes(header(1, 1)), 'prompt');
    gone.abort();
    const s1 = await t.until((s) => s.includes('→ withdrawn'), 'withdrawn');
    assert.match(
      s1,
      / {2}· Sign git commit "Hung up" — from local 127\.0\.0\.1\n {4}→ withdrawn: the client hung up/,
    );
    assert.equal(await t.prompt(), '', 'its prompt is gone');

    // Nobody answers: timed out.
    const late = sign(t.url, COMMIT('Nobody answers'));
    await t.until((s) => live(s).includes('"Nobody answers"'), 'prompt');
    assert.equal(await status(late.result), '403 timed-out');
    const s2 = await t.until((s) => s.includes('→ timed out'), 'timed out');
    assert.match(
      s2,
      / {2}· Sign git commit "Nobody answers" — from local 127\.0\.0\.1\n {4}→ timed out: denied/,
    );
    assert.equal(await t.prompt(), '');

    // Its token is revoked from another shell while it waits.
    const token = await createToken(t.configDir, 'box1');
    const revoked = sign(t.url, COMMIT('Revoked meanwhile'), { Authorization: `Bearer ${token}` });
    await t.until((s) => live(s).includes('"Revoked meanwhile"'), 'prompt');
    assert.match(await t.prompt(), /^ {2}From {8}box1 \(token, 127\.0\.0\.1\)$/m);
    assert.equal(
      (await run(process.execPath, [CLI, 'token', 'revoke', 'box1', '--config-dir', t.configDir]))
        .code,
      0,
    );
    assert.equal(await status(revoked.result), '401 token-revoked');
    await t.until(
      (s) => /"Revoked meanwhile" — from box1\n {4}→ withdrawn: its token was revoked\n/.test(s),
      'withdrawn on revocation',
    );
    assert.equal(await t.prompt(), '');
  });
});
