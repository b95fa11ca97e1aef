// A paste into the console in a real pty (tmux) through the built CLI, with and without
// bracketed paste. A sandbox's commit waits on the console; a moment later the person pastes
// a shell command into that terminal by mistake. Were the `a` in "-am" a key, the commit
// would be signed (200) and the sandbox would hold a 10-minute grant, so its next commit
// would be signed with nobody asked. Expected: the paste answers nothing; the request still
// waits and is then denied with `n`, and so is the next one. tmux forwards the prompter's
// ESC[?2004h to its pane, and `paste-buffer -p` wraps the text in ESC[200~…ESC[201~ only
// while the application asked for it (else it is sent plain, like `send-keys -l`).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { agentWithKey, commitObject } from '../helpers/fixtures.js';
import type { Agent } from '../helpers/openssh.js';
import { needsTmux } from '../helpers/platform.js';
import { header, openConsoleTerminal, pause, sign, status } from '../helpers/tmux-console.js';

let dir: string;
let agent: Agent;
before(async () => {
  ({ dir, agent } = await agentWithKey());
});

const COMMIT = (subject: string) =>
  commitObject(subject, { author: 'Ana <ana@example.test>', parent: null });

describe('a paste into the console (tmux)', { skip: needsTmux }, () => {
  for (const how of ['typed as one read (send-keys -l)', 'bracketed (paste-buffer -p)'] as const) {
    it(`${how}: a pasted shell command neither approves the waiting commit nor grants its client`, async () => {
      const t = await openConsoleTerminal(dir, agent.sock, {
        SSH_AGENT_PROXY_CONSOLE_ALERT: 'off',
      });
      const first = sign(t.url, COMMIT('From the sandbox'));
      await t.until((s) => s.includes(header(1, 1)), 'the prompt');
      await pause(1_000); // the prompt is armed: a key now would answer
      if (how.startsWith('bracketed')) await t.paste('git commit -am wip');
      else await t.keys('-l', 'git commit -am wip');
      await t.until((s) => s.includes('pasted text ignored'), 'the paste ignored');
      await t.answer('n'); // what the person meant to do with the prompt
      const firstStatus = await status(first.result);
      const next = sign(t.url, COMMIT('Signed by the grant, nobody asked'));
      await t.until((s) => s.includes('"Signed by the grant'), 'the next prompt');
      await t.answer('n');
      const nextStatus = await status(next.result);
      assert.ok(t.raw().includes('\x1b[?2004h'), 'the console asked for bracketed paste');
      assert.equal(firstStatus, '403 denied-by-user', 'the paste answered the prompt');
      assert.equal(nextStatus, '403 denied-by-user', 'the paste left the sandbox a grant');
      // Ctrl-C stops the proxy and gives the terminal back without bracketed paste.
      await t.keys('C-c');
      assert.equal(await t.exitStatus(), '0');
      const raw = t.raw();
      assert.ok(
        raw.lastIndexOf('\x1b[?2004l') > raw.lastIndexOf('\x1b[?2004h'),
        'bracketed paste switched off on the way out',
      );
    });
  }
});
