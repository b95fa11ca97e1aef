// Text shown to a person is always clean, on every surface. A key made by the real
// ssh-keygen with a hostile comment (terminal escapes, bidi overrides, soft hyphen, tag
// characters, …) sits in a real ssh-agent; a client with a token asks the real proxy to
// sign a commit whose author, committer and subject carry the same payload. Then every
// place a person reads is checked: the terminal prompt (the real TerminalPrompter on a
// fake TTY), the tray's view models and notification, the audit record (as written, as
// the `audit` command prints it and as the tray lists it), the log lines and the one-line
// HTTP error bodies.
/* eslint-disable no-control-regex -- these tests look for control characters on purpose */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { ReadStream } from 'node:tty';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { TerminalPrompter, ARM_DELAY_MS } from '../../src/cli/terminal-prompter.js';
import type { PendingRequest } from '../../src/core/approval/approval-broker.js';
import { cleanAuditRecord, formatAudit, type AuditRecord } from '../../src/core/approval/audit.js';
import { TokenStore } from '../../src/core/approval/token-store.js';
import {
  activityRecordView,
  grantView,
  promptView,
  queueView,
} from '../../src/main/view-models.js';
import { WindowPrompter } from '../../src/main/window-prompter.js';
import type { Logger } from '../../src/core/logger.js';
import { mustRun, startAgent, tempDir, waitFor, type Agent } from '../helpers/openssh.js';
import { http, startTestProxy, type TestProxy } from '../helpers/proxy.js';

// One of each class the sanitiser must stop.
const PAYLOAD = [
  '\u001b[2K\u001b[1A', // ESC CSI: erase the line, move up (draw a fake prompt line)
  '\u001b]0;pwned\u0007', // OSC: set the terminal title
  '\u009b31m', // C1 CSI
  '\u202eevil\u202c', // bidi override
  '\u2067iso\u2069', // bidi isolate
  '\u00ad', // soft hyphen
  '\u180e', // Mongolian vowel separator
  '\u{E0041}\u{E0042}\u{E007F}', // tag characters
  '\u200b\u200d\ufeff', // zero-width
  '\ue000\u{F0000}', // private use
  '\u2028\u2029', // line/paragraph separators
  '\r\u0085', // carriage return, NEL
].join('');
// An independent list (not the sanitiser's own regex) of what must never be shown.
const FORBIDDEN =
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ue000-\uf8ff\u{E0000}-\u{E007F}\u{F0000}-\u{FFFFD}]/u;

function assertClean(where: string, text: string) {
  const m = FORBIDDEN.exec(text);
  assert.equal(
    m,
    null,
    `${where} shows U+${m?.[0].codePointAt(0)?.toString(16).toUpperCase()}: ${JSON.stringify(text)}`,
  );
}

let dir: string;
let agent: Agent;
let tp: TestProxy;
let token: string;
const logLines: string[] = [];
const audit: AuditRecord[] = [];
const recorder: Logger = {
  debug: (m) => logLines.push(m),
  info: (m) => logLines.push(m),
  warn: (m) => logLines.push(m),
  error: (m) => logLines.push(m),
};

before(async () => {
  dir = tempDir();
  agent = await startAgent(dir);
  // The real ssh-keygen stores the comment as given; ssh-add hands it to the agent.
  const priv = join(dir, 'hostile');
  await mustRun('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    `Mallory ${PAYLOAD} laptop`,
    '-f',
    priv,
  ]);
  await mustRun('ssh-add', ['-q', priv], { env: agent.env });
  const configDir = join(dir, 'cfg');
  token = new TokenStore(configDir).create('box1');
  tp = await startTestProxy(
    {
      SSH_AGENT_PROXY_UPSTREAM: agent.sock,
      SSH_AGENT_PROXY_APPROVAL: 'prompt',
      SSH_AGENT_PROXY_CONFIG_DIR: configDir,
      // The prompt's exact lines: whether a lookup ends within its budget depends on load
      // (a program's name drawn as plain text is tested in peer-in-prompt.test.ts).
      SSH_AGENT_PROXY_PROGRAM_LOOKUP: 'false',
    },
    recorder,
    { audit: { write: (r) => void audit.push(r) } },
  );
});

const hostileCommit = Buffer.from(
  `tree 4b825dc642cb6eb9a060e54bf8d69288fbe4904b\nauthor Ana ${PAYLOAD} <ana${PAYLOAD}@x> 1700000000 +0100\ncommitter Bob ${PAYLOAD} <bob@x> 1700000000 +0100\n\nFix ${PAYLOAD} login\n`,
);

describe('every surface shows clean text', () => {
  it('the agent really holds the hostile comment (the test has teeth)', async () => {
    const listed = await mustRun('ssh-add', ['-L'], { env: agent.env });
    assert.ok(listed.includes('\u001b[2K'), 'ssh-add -L shows the raw escape');
    assert.ok(listed.includes('\u{E0041}'));
  });

  it('prompt, tray view, notification, audit and log: none carries a control or invisible character', async () => {
    // The terminal prompter on a fake TTY, with a clock we move past the arming delay.
    let now = Date.now();
    const input = Object.assign(new PassThrough(), {
      setRawMode: () => input,
      isTTY: true,
    }) as unknown as ReadStream;
    const output = new PassThrough();
    const terminal: string[] = [];
    output.on('data', (c: Buffer) => terminal.push(c.toString('utf8')));
    const prompter = new TerminalPrompter({
      broker: tp.proxy.broker,
      input,
      output,
      onInterrupt: () => {},
      now: () => now,
    });
    prompter.start();
    // The tray's approval window prompter, with a surface that records the notification.
    const notifications: string[] = [];
    const detachWindow = tp.proxy.broker.attach(
      new WindowPrompter({
        broker: tp.proxy.broker,
        surface: {
          isVisible: () => false,
          show: () => {},
          hide: () => {},
          notify: (t, b) => notifications.push(t, b),
        },
        denyWhenLocked: () => false,
        screenLocked: () => false,
      }),
    );
    try {
      const res = http(`${tp.url}/sign?namespace=git`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
        body: hostileCommit,
      });
      await waitFor(() => tp.proxy.broker.queue().length === 1, 10_000, 'the prompt');
      const queue = tp.proxy.broker.queue();
      const pending = queue[0] as PendingRequest;
      assert.ok(pending.key.comment.includes('\u001b'), 'the comment reached the core raw');

      // Tray window: the prompt and queue view models, every string in them.
      assertClean('tray prompt view', JSON.stringify(promptView(pending, queue, 10)));
      assertClean('tray queue view', JSON.stringify(queueView(tp.proxy.broker)));
      // Notification (title and body).
      assert.ok(notifications.length === 2, 'a notification was posted');
      for (const n of notifications) assertClean('notification', n);
      // Terminal: the prompt as written, and the comment is still recognisable.
      const screen = terminal.join('');
      assert.match(screen, /Approve signature\?/);
      // The prompter's own newlines separate its lines; within each, nothing may hide.
      for (const line of screen.split('\n')) assertClean('terminal prompt line', line);
      assert.equal(pending.client.program, undefined, 'no lookup');
      assert.equal(screen.split('\n').length, 14, 'no value added a line of its own');
      assert.match(screen, /Key +ED25519 · Mallory .*laptop/);
      assert.match(screen, /Author +Ana .*<ana.*@x>/);

      now += ARM_DELAY_MS;
      input.emit('data', Buffer.from('a')); // allow for the grant period: a grant to view
      const answered = await res;
      assert.equal(answered.status, 200, answered.text);
      for (const g of tp.proxy.broker.grants())
        assertClean('tray grant view', JSON.stringify(grantView(g)));
    } finally {
      prompter.stop();
      detachWindow();
    }

    // The grant given, then the request it allowed.
    await waitFor(() => audit.length === 2, 5_000, 'the audit records');
    assert.deepEqual(
      audit.map((r) => r.kind),
      ['grant', 'request'],
    );
    for (const r of audit) assertClean('audit grant record', formatAudit(r));
    const rec = audit[1] as AuditRecord;
    assert.match(rec.what ?? '', /^git commit "Fix .*login" by Ana/);
    for (const [field, value] of Object.entries(rec)) assertClean(`audit ${field}`, String(value));
    assertClean('audit command line', formatAudit(rec));
    assertClean('tray activity view', JSON.stringify(activityRecordView(rec)));
    assertClean('tray recent activity', JSON.stringify(tp.proxy.recent().map(activityRecordView)));
    assert.ok(logLines.length > 0);
    for (const line of logLines) assertClean('log line', line);
  });

  it('an audit file edited by hand is shown clean too', () => {
    const dirty = cleanAuditRecord({
      time: '2026-01-01T00:00:00.000Z',
      id: `x${PAYLOAD}`,
      client: `c${PAYLOAD}`,
      remote: PAYLOAD,
      key: PAYLOAD,
      namespace: PAYLOAD,
      what: `w${PAYLOAD}`,
      decision: 'allowed',
      decidedBy: PAYLOAD,
      status: 200,
      outcome: PAYLOAD,
      ms: 1,
    });
    assertClean('cleaned record', JSON.stringify(dirty));
  });

  it('error bodies echo client text only through the sanitiser', async () => {
    // URLSearchParams decodes %1b; the unknown parameter's name is echoed in the reason.
    const r = await http(`${tp.url}/sign?%1b%5b2K%e2%80%ae%c2%ad=1`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: hostileCommit,
    });
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /^bad-query: /);
    assertClean('HTTP error line', r.text.replace(/\n$/, ''));
    for (const line of logLines) assertClean('log line', line);
  });

  it('a token name cannot carry the payload (the store refuses it)', () => {
    const store = new TokenStore(join(dir, 'cfg2'));
    assert.throws(() => store.create(`box${PAYLOAD}`), /not a valid token name/);
    assert.throws(() => store.create('box\u00ad1'), /not a valid token name/);
  });
});
