// The console as a first-class approver, in a real pty (tmux): a bell and a desktop
// notification for each new request, the grants list with revoke by number, pause and
// resume from the keys — and the same state seen and changed from a second terminal
// (`ssh-agent-proxy grants`, `… resume`), the two views checked against each other.
// The desktop notifier is a stand-in `notify-send` that records its arguments: no desktop
// runs here, and what is checked is what the console asks the desktop to show.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ARM_DELAY_MS } from '../../src/cli/terminal-prompter.js';
import { agentWithKey, commitObject } from '../helpers/fixtures.js';
import { run, waitFor, type Agent } from '../helpers/openssh.js';
import { CLI } from '../helpers/proxy.js';
import { needsTmux } from '../helpers/platform.js';
import { shimForms } from '../helpers/shim-forms.js';
import { header, live, openConsoleTerminal, pause, sign, status } from '../helpers/tmux-console.js';
import { sshSigningConfig } from '../helpers/git-signing.js';

let dir: string;
let agent: Agent;
/** A stand-in notify-send: appends each argument on a line, then ---, to $NOTIFY_RECORD. */
let notifyBin: string;

before(async () => {
  ({ dir, agent } = await agentWithKey());
  notifyBin = join(dir, 'notify-bin');
  mkdirSync(notifyBin);
  writeFileSync(
    join(notifyBin, 'notify-send'),
    `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done >> "$NOTIFY_RECORD"\necho --- >> "$NOTIFY_RECORD"\n`,
  );
  chmodSync(join(notifyBin, 'notify-send'), 0o755);
});

const COMMIT = (subject: string) =>
  commitObject(subject, { author: 'Ana <ana@example.test>', parent: null });

/** `ssh-agent-proxy ARGS` from a second terminal, for the console's config dir. */
const second = (configDir: string, ...args: string[]) =>
  run(process.execPath, [CLI, '--config-dir', configDir, ...args], {
    env: { PATH: process.env.PATH, HOME: dir },
    timeoutMs: 20_000,
  });

/** From the grants list header down (the live block's panel), or ''. */
const panel = (screen: string) => {
  const at = Math.max(
    screen.lastIndexOf('  Live grants ('),
    screen.lastIndexOf('  No live grants'),
  );
  // Long rows are wrapped by the console, continuing 4 spaces in (its own rows start 2 in).
  return at < 0 ? '' : screen.slice(at).replace(/\n {4}/g, '');
};

describe('the console as approver (tmux)', { skip: needsTmux }, () => {
  it('each new request rings the bell and asks the desktop to show who wants what', async () => {
    const record = join(dir, 'notifications');
    const t = await openConsoleTerminal(dir, agent.sock, {
      PATH: `${notifyBin}:${process.env.PATH}`,
      DISPLAY: ':99',
      NOTIFY_RECORD: record,
    });
    assert.equal(t.bells(), 0);
    const first = sign(t.url, COMMIT('Ring once'));
    await t.until((s) => s.includes(header(1, 1)), 'the prompt');
    await waitFor(() => t.bells() === 1, 10_000, 'the bell');
    const other = sign(t.url, COMMIT(`It's "quoted"; rm -rf /`));
    await t.until((s) => s.includes(header(1, 2)), 'the second request');
    await waitFor(() => t.bells() === 2, 10_000, 'the second bell');
    await waitFor(() => t.raw().includes('rm -rf'), 30_000, 'the raw output');
    assert.equal(t.raw().split('\x07').length - 1, 2, 'one BEL per request');
    await waitFor(
      () => readFileSync(record, 'utf8').split('---\n').length === 3,
      10_000,
      'two notifications',
    );
    assert.equal(
      readFileSync(record, 'utf8'),
      [
        '--app-name=SSH Agent Proxy',
        '--',
        'SSH Agent Proxy: Approve signature?',
        'Sign git commit "Ring once" — from local 127.0.0.1. Answer in the terminal.',
        '---',
        '--app-name=SSH Agent Proxy',
        '--',
        'SSH Agent Proxy: Approve signature?',
        `Sign git commit "It's "quoted"; rm -rf /" — from local 127.0.0.1. Answer in the terminal.`,
        '---',
        '',
      ].join('\n'),
    );
    await t.answer('n');
    await t.until((s) => s.includes(header(1, 1)), 'the next one');
    await t.answer('n');
    assert.equal(await status(first.result), '403 denied-by-user');
    assert.equal(await status(other.result), '403 denied-by-user');
    assert.equal(t.bells(), 2, 'an answer rings nothing');
  });

  it('SSH_AGENT_PROXY_CONSOLE_ALERT=off: no bell, no notification', async () => {
    const record = join(dir, 'notifications-off');
    const t = await openConsoleTerminal(dir, agent.sock, {
      SSH_AGENT_PROXY_CONSOLE_ALERT: 'off',
      PATH: `${notifyBin}:${process.env.PATH}`,
      DISPLAY: ':99',
      NOTIFY_RECORD: record,
    });
    const r = sign(t.url, COMMIT('Quietly'));
    await t.until((s) => s.includes(header(1, 1)), 'the prompt');
    await t.answer('y');
    assert.equal(await status(r.result), '200');
    // The pane's bytes arrive in order: once the outcome is there, a bell rung for the
    // prompt before it would be there too.
    await waitFor(() => t.raw().includes('allowed once'), 10_000, 'the outcome in the raw output');
    assert.ok(t.raw().includes('Quietly'));
    assert.equal(t.raw().includes('\x07'), false, 'no BEL was written');
    assert.equal(t.bells(), 0);
    assert.equal(existsSync(record), false, 'no notification was asked for');
  });

  it('g lists grants and a number revokes one; p pauses and r resumes; a second terminal sees and changes the same', async () => {
    const t = await openConsoleTerminal(dir, agent.sock);
    const granted = sign(t.url, COMMIT('Grant me'));
    await t.until((s) => s.includes(header(1, 1)), 'the prompt');
    await t.answer('a');
    assert.equal(await status(granted.result), '200');
    assert.equal(await status(sign(t.url, COMMIT('Under the grant')).result), '200');

    await t.keys('g');
    const shown = panel(await t.until((s) => panel(s).includes('[1] '), 'the grants list'));
    assert.match(
      shown,
      /^ {2}Live grants \(1; they end when the proxy stops\): {3}\[1-1\] revoke {3}\[g\] close$/m,
    );
    const line =
      /^ {2}\[1\] (\S{8}) {2}(local 127\.0\.0\.1 · ED25519 SHA256:\S+ · git · \d+ min left · 2 used)$/m.exec(
        shown,
      );
    assert.ok(line, shown);
    // The second terminal lists the very same grant, in the same words.
    const listed = await second(t.configDir, 'grants');
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(listed.stdout.includes(`${line[1]}  ${line[2]}`), listed.stdout);

    await t.keys('1');
    await t.until((s) => panel(s).includes(`revoked grant ${line[1]}`), 'the revoke');
    assert.match(panel(await t.screen()), /\[1\] .* {3}\(ended\)$/m);
    assert.match((await second(t.configDir, 'grants')).stdout, /^no live grants$/m);
    await t.keys('1'); // the number still names the grant it showed: nothing else is revoked
    await t.until((s) => panel(s).includes('no-such-grant'), 'the second revoke refused');
    await t.keys('g');
    await t.until((s) => panel(s) === '' || !live(s).includes('Live grants'), 'the list closed');

    const asked = sign(t.url, COMMIT('Asked again'));
    await t.until(
      (s) => s.includes(header(1, 1)) && live(s).includes('"Asked again"'),
      'a prompt again',
    );
    await t.answer('n');
    assert.equal(await status(asked.result), '403 denied-by-user');

    await t.keys('p');
    await t.until((s) => s.includes('Signing is PAUSED'), 'paused');
    const refused = sign(t.url, COMMIT('While paused'));
    assert.equal(await status(refused.result), '503 signing-paused');
    assert.match((await second(t.configDir, 'grants')).stdout, /signing is PAUSED/);
    assert.equal((await second(t.configDir, 'resume')).code, 0);
    await t.until(
      (s) =>
        /signing resumed \(from another terminal\)/.test(s) &&
        !s.slice(s.lastIndexOf('signing resumed')).includes('Signing is PAUSED'),
      'resumed from the second terminal',
    );
    assert.equal((await second(t.configDir, 'pause')).code, 0);
    await t.until(
      (s) =>
        s
          .slice(s.lastIndexOf('signing paused (from another terminal)'))
          .includes('Signing is PAUSED'),
      'paused from the second terminal',
    );
    await t.answer('r'); // r gives signing back: it counts once the pause was on screen a moment
    await t.until(
      (s) => /signing resumed \(from the console keys\)/.test(s),
      'resumed from the keys',
    );
    const after = sign(t.url, COMMIT('After'));
    await t.until((s) => live(s).includes('"After"'), 'asked after resuming');
    await t.answer('y');
    assert.equal(await status(after.result), '200');
  });

  it('git commit -S in a sandbox (dash + curl shim): a grant from the console, revoked from a second terminal; paused, resumed', async () => {
    const t = await openConsoleTerminal(dir, agent.sock);
    const f = shimForms(join(dir, 'git-forms')).find((f) => f.name === 'sh and curl, no bash')!;
    const home = join(dir, 'git-sandbox');
    const repo = join(home, 'repo');
    mkdirSync(repo, { recursive: true });
    const env = {
      PATH: f.path,
      HOME: home,
      GIT_CONFIG_NOSYSTEM: '1',
      SSH_AGENT_PROXY_URL: `${t.url}/sign`,
    };
    const git = (...args: string[]) => run('git', args, { env, cwd: repo });
    await git('init', '-q', '-b', 'main');
    const signingKey = join(home, '.cache/ssh-agent-proxy-sign/signing.pub');
    for (const [k, v] of sshSigningConfig(f.program, signingKey)) await git('config', k, v);
    let n = 0;
    const commit = () => {
      writeFileSync(join(repo, 'f'), `${++n}\n`);
      return git('add', 'f').then(() => git('commit', '-S', '-q', '-m', `Change ${n}`));
    };
    const prompted = (k: number) =>
      t.until(
        (s) => live(s).includes(`Sign git commit "Change ${k}"`),
        `the prompt for Change ${k}`,
      );

    const first = commit();
    await prompted(1);
    await t.answer('a');
    assert.equal((await first).code, 0);
    const covered = await commit(); // under the grant: no prompt
    assert.equal(covered.code, 0, covered.stderr);
    const short = /^(\S{8}) {2}/m.exec((await second(t.configDir, 'grants')).stdout)![1]!;
    assert.equal((await second(t.configDir, 'grants', 'revoke', short)).code, 0);
    const third = commit();
    await prompted(3);
    await t.answer('n');
    const refused = await third;
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /denied-by-user/);

    assert.equal((await second(t.configDir, 'pause')).code, 0);
    const paused = await commit();
    assert.notEqual(paused.code, 0);
    assert.match(paused.stderr, /signing-paused/);
    await t.until((s) => s.includes('Signing is PAUSED'), 'the console shows it paused');
    assert.equal((await second(t.configDir, 'resume')).code, 0);
    const resumed = commit();
    await prompted(5);
    await t.answer('y');
    assert.equal((await resumed).code, 0);
    assert.equal(
      (await git('log', '--format=%G? %s')).stdout.split('\n').filter(Boolean).length,
      3,
    );
  });

  it('p and g typed as a prompt appears are ignored like an answer would be; p pausing denies what waits', async () => {
    const t = await openConsoleTerminal(dir, agent.sock);
    for (let attempt = 1; ; attempt++) {
      const r = sign(t.url, COMMIT(`Early ${attempt}`));
      await t.until((s) => live(s).includes(`"Early ${attempt}"`), `Early ${attempt} shown`);
      await t.keys('p');
      const s = await t.until(
        (s) => live(s).includes('(key ignored — wait a moment)') || s.includes('Signing is PAUSED'),
        'the key to be ignored or taken',
      );
      if (!s.includes('Signing is PAUSED')) {
        // Ignored: the request still waits; now, armed, p pauses and denies it.
        await pause(ARM_DELAY_MS + 100);
        await t.keys('p');
        assert.equal(await status(r.result), '503 signing-paused');
        await t.until(
          (s) => s.includes('→ denied: signing was paused (signing-paused)'),
          'its outcome',
        );
        break;
      }
      // A slow machine delivered p after the arming delay: it paused (honestly); resume, retry.
      assert.equal(await status(r.result), '503 signing-paused');
      await t.answer('r');
      await t.until((s) => /signing resumed/.test(s.slice(s.lastIndexOf('Early'))), 'resumed');
      assert.ok(attempt < 5, 'the key never arrived within the arming delay');
    }
  });
});
