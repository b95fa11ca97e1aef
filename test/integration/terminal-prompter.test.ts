// The terminal prompter through a real pseudo-terminal: `script` gives `--console` a pty,
// this test types into it and reads the screen, like a person at a terminal.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { agentWithKey, commitObject } from '../helpers/fixtures.js';
import { onCleanup, run, waitFor, type Agent, type TestKey } from '../helpers/openssh.js';
import { CLI, http } from '../helpers/proxy.js';
import { needsUtilLinuxScript } from '../helpers/platform.js';

let dir: string;
let agent: Agent;
let key: TestKey;

before(async () => {
  ({ dir, agent, key } = await agentWithKey());
});

const COMMIT = (subject: string) =>
  commitObject(subject, { author: 'Ana <ana@example.test>', parent: null });

interface Terminal {
  child: ChildProcessWithoutNullStreams;
  screen: () => string;
  type: (keys: string) => void;
  url: string;
}

async function openTerminal(): Promise<Terminal> {
  const cmd = `${process.execPath} ${CLI} --console`;
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      TERM: 'dumb',
      SSH_AUTH_SOCK: agent.sock,
      SSH_AGENT_PROXY_ADDR: '127.0.0.1:0',
      SSH_AGENT_PROXY_CONFIG_DIR: join(dir, 'cfg'),
    },
  });
  onCleanup(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  await waitFor(() => /listening on http:\/\/\S+/.test(out), 10_000, 'the proxy in the terminal');
  return {
    child,
    screen: () => out,
    type: (keys) => child.stdin.write(keys),
    url: /listening on (http:\/\/\S+)/.exec(out)![1]!.replace(/\s.*$/, ''),
  };
}

const countOf = (text: string, needle: string) => text.split(needle).length - 1;

describe('terminal prompter in a real pty', { skip: needsUtilLinuxScript }, () => {
  it('shows who, what and which key; y/n/a answer; keys typed too early are dropped; Ctrl-C stops', async () => {
    const t = await openTerminal();
    assert.match(
      t.screen(),
      /approval: requests are shown here; answer y \(once\), a \(grant\), n \(deny\)/,
    );
    // Typed before any prompt exists: must not approve what comes next.
    t.type('yyy');
    const first = http(`${t.url}/sign`, { method: 'POST', body: COMMIT('Fix login race') });
    await waitFor(() => t.screen().includes('Approve signature? (1 of 1)'), 5_000, 'the prompt');
    const prompt = t.screen().slice(t.screen().lastIndexOf('Approve signature?'));
    assert.match(prompt, /Sign git commit "Fix login race"/);
    assert.match(prompt, /Author\s+Ana <ana@example\.test>/);
    assert.ok(prompt.includes(key.fingerprint), 'the key fingerprint is shown');
    assert.match(prompt, /From\s+local 127\.0\.0\.1/);
    assert.match(
      prompt,
      /\[y\] allow once {3}\[a\] allow for 10 min \(this client, key, namespace\) {3}\[n\] deny/,
    );
    await new Promise((r) => setTimeout(r, 700)); // past the arming delay, as a person reading would be
    assert.equal(countOf(t.screen(), '→'), 0, 'the early keys were dropped');
    t.type('y');
    const r1 = await first;
    assert.equal(r1.status, 200, r1.text);
    writeFileSync(join(dir, 'p.sig'), r1.body);
    assert.equal(
      (
        await run('ssh-keygen', ['-Y', 'check-novalidate', '-n', 'git', '-s', join(dir, 'p.sig')], {
          input: COMMIT('Fix login race'),
        })
      ).code,
      0,
    );

    // Two at once: "1 of 2"; n denies the first, then the second shows.
    const a = http(`${t.url}/sign`, { method: 'POST', body: COMMIT('First of two') });
    await waitFor(() => t.screen().includes('"First of two"'), 5_000, 'first prompt');
    const b = http(`${t.url}/sign`, { method: 'POST', body: COMMIT('Second of two') });
    await waitFor(() => t.screen().includes('(2 requests waiting)'), 5_000, 'queue notice');
    await new Promise((r) => setTimeout(r, 700));
    t.type('n');
    assert.equal((await a).status, 403);
    await waitFor(() => t.screen().includes('"Second of two"'), 5_000, 'second prompt');
    await new Promise((r) => setTimeout(r, 700));
    t.type('a');
    assert.equal((await b).status, 200);
    // The grant covers the next one: no prompt.
    const before = countOf(t.screen(), 'Approve signature?');
    assert.equal(
      (await http(`${t.url}/sign`, { method: 'POST', body: COMMIT('Under the grant') })).status,
      200,
    );
    assert.equal(countOf(t.screen(), 'Approve signature?'), before);

    // Ctrl-C stops the proxy cleanly, even in raw mode.
    const exited = new Promise<number | null>((r) => t.child.on('exit', (code) => r(code)));
    t.type('\x03');
    assert.equal(await exited, 0);
    assert.match(t.screen(), /Ctrl-C: shutting down/);
  });
});
