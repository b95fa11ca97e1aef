// The control channel (src/core/control, src/cli/control-client.ts): a second terminal lists
// and revokes grants and pauses/resumes signing on the running proxy, over a Unix socket in
// the config dir — never the HTTP port. The proxy runs as the shells start it
// (startConfiguredProxy, or the built CLI); each command is a separate `ssh-agent-proxy`
// process; requests arrive over real HTTP and are signed by a real ssh-agent. Attacks:
// another uid (nobody, via setpriv), a socket left by a killed proxy, a file that is not a
// socket, garbage and over-long lines, and the same requests sent to the HTTP port.
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { connect, type Socket } from 'node:net';
import { basename, join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Answer } from '../../src/core/approval/approval-broker.js';
import {
  controlSocketPath,
  MAX_CONTROL_CONNECTIONS,
  MAX_SOCKET_PATH_BYTES,
} from '../../src/core/control/control-socket.js';
import { MAX_LINE_BYTES } from '../../src/core/control/control-protocol.js';
import { newNonce, readControlKey } from '../../src/core/control/control-key.js';
import { handshake } from '../helpers/control-handshake.js';
import { agentWithKey, commitObject } from '../helpers/fixtures.js';
import { run, tempDir, waitFor, type Agent } from '../helpers/openssh.js';
import { http, spawnConsole } from '../helpers/proxy.js';
import { cliIn, startShellProxy } from '../helpers/shell-proxy.js';
import { needsModeBits, needsPosixSignals } from '../helpers/platform.js';

let agent: Agent;
let dir: string;
before(async () => {
  ({ agent, dir } = await agentWithKey());
});

/** The proxy as the shells start it, in this process, with a person answering every prompt. */
async function startProxyAnswering(configDir: string, answer: () => Answer) {
  const p = await startShellProxy({
    SSH_AGENT_PROXY_APPROVAL: 'prompt',
    SSH_AGENT_PROXY_CONFIG_DIR: configDir,
    SSH_AGENT_PROXY_UPSTREAM: agent.sock,
  });
  let prompts = 0;
  p.proxy.broker.attach({
    update(queue) {
      for (const r of queue) {
        prompts++;
        p.proxy.broker.answer({ id: r.id }, answer());
      }
    },
  });
  return { ...p, prompts: () => prompts };
}

/** `ssh-agent-proxy ARGS` as a second process, for this config dir. */
const cli = (configDir: string, ...args: string[]) => cliIn(dir, configDir, ...args);

const sign = (url: string, subject: string) =>
  http(`${url}/sign`, { method: 'POST', body: commitObject(subject) });

/**
 * Lines sent on one connection, and every answer line until the proxy closes or all came.
 * With `configDir`, after the handshake and a first request carrying its proof (whose answer
 * is left out).
 */
function exchange(
  path: string,
  text: string,
  answers: number,
  configDir?: string,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const sock = connect({ path });
    if (configDir) {
      sock.once('connect', () => {
        void handshake(sock, readControlKey(configDir)).then((proof) => {
          const first = JSON.stringify({ op: 'status', proof });
          exchangeOn(sock, `${first}\n${text}`, answers + 1).then(
            (lines) => resolve(lines.slice(1)),
            reject,
          );
        }, reject);
      });
      sock.on('error', reject);
      return;
    }
    exchangeOn(sock, text, answers).then(resolve, reject);
  });
}

function exchangeOn(sock: Socket, text: string, answers: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let got = '';
    const done = () => {
      sock.destroy();
      resolve(got.split('\n').filter(Boolean));
    };
    sock.on('error', reject);
    sock.on('data', (c) => {
      got += c.toString();
      if (got.split('\n').length > answers) done();
    });
    sock.on('close', done);
    sock.write(text);
  });
}

describe('control channel: a second terminal', { skip: needsModeBits }, () => {
  it('grants lists, grants revoke ID revokes, pause refuses with 503, resume restores', async () => {
    const configDir = join(tempDir(), 'cfg');
    const p = await startProxyAnswering(configDir, () => 'allow-for-grant');
    const path = controlSocketPath(configDir);
    assert.equal(lstatSync(path).mode & 0o777, 0o600);
    assert.equal(lstatSync(configDir).mode & 0o777, 0o700);

    const none = await cli(configDir, 'grants');
    assert.equal(none.code, 0, none.stderr);
    assert.match(
      none.stdout,
      /^no live grants\nsigning is on; 0 waiting for approval; grants end when the proxy stops\n\(the proxy at http:\/\/127\.0\.0\.1:\d+, pid \d+\)\n$/,
    );

    assert.equal((await sign(p.url, 'First')).status, 200);
    assert.equal(p.prompts(), 1);
    assert.equal((await sign(p.url, 'Covered by the grant')).status, 200);
    assert.equal(p.prompts(), 1, 'the grant answered the second request');
    const [grant] = p.proxy.broker.grants();
    const listed = await cli(configDir, 'grants');
    assert.equal(listed.code, 0, listed.stderr);
    const short = grant!.id.slice(0, 8);
    assert.match(
      listed.stdout,
      new RegExp(
        `^${short}  local 127\\.0\\.0\\.1 · ED25519 ${grant!.fingerprint.replace(/[+/]/g, '\\$&')} · git · 10 min left · 2 used$`,
        'm',
      ),
    );

    const revoked = await cli(configDir, 'grants', 'revoke', short);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, new RegExp(`^revoked grant ${short} `));
    assert.equal(p.proxy.broker.grants().length, 0);
    assert.ok(
      p.log.lines.some((l) => l.startsWith(`info grant ${short} revoked (from another terminal)`)),
    );
    assert.equal((await sign(p.url, 'Asked again')).status, 200);
    assert.equal(p.prompts(), 2, 'without the grant, the person is asked again');

    const again = await cli(configDir, 'grants', 'revoke', short);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^ssh-agent-proxy: no-such-grant: /);
    const tooShort = await cli(configDir, 'grants', 'revoke', 'ab');
    assert.equal(tooShort.code, 1);
    assert.match(tooShort.stderr, /at least 4 characters/);

    const paused = await cli(configDir, 'pause');
    assert.equal(paused.code, 0, paused.stderr);
    assert.equal(p.proxy.broker.paused, true);
    const refused = await sign(p.url, 'While paused');
    assert.equal(refused.status, 503);
    assert.match(refused.text, /^signing-paused: /);
    assert.match((await cli(configDir, 'grants')).stdout, /signing is PAUSED/);
    assert.equal((await cli(configDir, 'resume')).code, 0);
    assert.equal((await sign(p.url, 'Resumed')).status, 200);
  });

  it('never over the HTTP port: the same requests there are not found and change nothing', async () => {
    const configDir = join(tempDir(), 'cfg');
    const p = await startProxyAnswering(configDir, () => 'deny');
    for (const path of ['/control', '/pause', '/grants']) {
      const r = await http(`${p.url}${path}`, { method: 'POST', body: '{"op":"pause"}\n' });
      assert.equal(r.status, 404, path);
    }
    assert.equal(p.proxy.broker.paused, false);
  });

  it('usage mistakes: exit 2 with the usage line', async () => {
    const configDir = join(tempDir(), 'cfg');
    for (const [args, usage] of [
      [['grants', 'revoke'], 'grants revoke ID'],
      [['grants', 'revoke', 'a', 'b'], 'grants revoke ID'],
      [['grants', 'bogus'], 'grants'],
      [['pause', 'now'], 'pause'],
    ] as const) {
      const r = await cli(configDir, ...args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(
        r.stderr,
        new RegExp(`^ssh-agent-proxy: usage: ssh-agent-proxy ${usage} \\(see `),
      );
    }
  });

  it('without a running proxy, or with a stopped one: one line saying so, exit 1', async () => {
    const configDir = join(tempDir(), 'cfg');
    const r = await cli(configDir, 'pause');
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^ssh-agent-proxy: no proxy is running with the config dir .* start one with: ssh-agent-proxy --console\n$/,
    );
  });
});

describe('control channel: attacks', { skip: needsModeBits }, () => {
  it('another uid cannot connect: the 0700 dir stops it, and the 0600 socket alone too', async (t) => {
    const uid = process.getuid!();
    const asNobody = uid === 0 ? ['setpriv'] : ['sudo', '-n', 'setpriv'];
    const probe = await run(asNobody[0]!, [
      ...asNobody.slice(1),
      '--reuid=nobody',
      '--regid=nogroup',
      '--clear-groups',
      'true',
    ]).catch(() => null);
    if (!probe || probe.code !== 0)
      return t.skip('needs root or passwordless sudo to run as nobody');
    const top = tempDir();
    chmodSync(top, 0o711); // nobody may pass through to the config dir, nothing more
    const configDir = join(top, 'cfg');
    const p = await startProxyAnswering(configDir, () => 'deny');
    const path = controlSocketPath(configDir);
    // The request comes from a file nobody may read (its stdin would race socat's exit).
    const request = join(top, 'request');
    writeFileSync(request, '{"op":"pause"}\n', { mode: 0o644 });
    const nobody = (from = `OPEN:${request},rdonly`) =>
      run(asNobody[0]!, [
        ...asNobody.slice(1),
        '--reuid=nobody',
        '--regid=nogroup',
        '--clear-groups',
        'socat',
        ...(from.includes('!!') ? ['-t', '5'] : ['-u']),
        from,
        `UNIX-CONNECT:${path}`,
      ]);
    const denied = await nobody();
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /Permission denied/);
    chmodSync(configDir, 0o711); // the directory opened: the socket's own mode still refuses
    const socketOnly = await nobody();
    assert.notEqual(socketOnly.code, 0);
    assert.match(socketOnly.stderr, /Permission denied/);
    assert.equal(p.proxy.broker.paused, false);
    // Once the socket is opened up, nobody connects (the refusals above were the modes, not
    // a broken harness) — and meets the next wall: without the control key (0600, in the
    // config dir) its request is refused.
    chmodSync(path, 0o666);
    const open = await nobody(`OPEN:${request},rdonly!!STDOUT`);
    assert.equal(open.code, 0, open.stderr);
    assert.match(open.stdout, /"error":"unauthenticated: /);
    assert.equal(p.proxy.broker.paused, false);
  });

  it('a socket left by a killed proxy is replaced by the next one', async (t) => {
    if (needsPosixSignals) return t.skip(needsPosixSignals);
    const configDir = join(tempDir(), 'cfg');
    const env = {
      SSH_AUTH_SOCK: agent.sock,
      SSH_AGENT_PROXY_APPROVAL: 'deny',
      SSH_AGENT_PROXY_CONFIG_DIR: configDir,
    };
    const first = await spawnConsole(env);
    await first.stop('SIGKILL');
    const path = controlSocketPath(configDir);
    assert.ok(lstatSync(path).isSocket(), 'the dead proxy left its socket');
    const stale = await cli(configDir, 'pause');
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /no proxy is listening at .* \(it stopped\)/);
    const second = await spawnConsole(env);
    assert.match(second.stderr(), /control channel at /);
    const r = await cli(configDir, 'pause');
    assert.equal(r.code, 0, r.stderr);
    await waitFor(
      () => /signing paused \(from another terminal\)/.test(second.stderr()),
      5_000,
      'the pause in the log',
    );
    assert.equal(await second.stop('SIGTERM'), 0);
    assert.equal(existsSync(path), false, 'a clean stop removes its socket');
  });

  it('a live socket of another proxy is left alone; the second proxy runs without a channel and says so', async (t) => {
    if (needsPosixSignals) return t.skip(needsPosixSignals);
    const configDir = join(tempDir(), 'cfg');
    await startProxyAnswering(configDir, () => 'deny');
    const second = await spawnConsole({
      SSH_AUTH_SOCK: agent.sock,
      SSH_AGENT_PROXY_APPROVAL: 'deny',
      SSH_AGENT_PROXY_CONFIG_DIR: configDir,
    });
    assert.match(
      second.stderr(),
      /control channel off: .*control\.sock is in use \(another ssh-agent-proxy\?\)/,
    );
    assert.equal(await second.stop('SIGTERM'), 0);
    assert.equal((await cli(configDir, 'grants')).code, 0, 'the first one still answers');
  });

  it('a file that is not a socket at that path is refused clearly and never deleted', async (t) => {
    if (needsPosixSignals) return t.skip(needsPosixSignals);
    const configDir = join(tempDir(), 'cfg');
    const first = await spawnConsole({
      SSH_AGENT_PROXY_APPROVAL: 'deny',
      SSH_AGENT_PROXY_CONFIG_DIR: configDir,
    });
    await first.stop('SIGTERM');
    const path = controlSocketPath(configDir);
    writeFileSync(path, 'precious\n');
    const p = await spawnConsole({
      SSH_AGENT_PROXY_APPROVAL: 'deny',
      SSH_AGENT_PROXY_CONFIG_DIR: configDir,
    });
    assert.match(p.stderr(), /control channel off: .*control\.sock exists and is not a socket/);
    const r = await cli(configDir, 'pause');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /control\.sock is not a socket; refusing to use it/);
    assert.equal(await p.stop('SIGTERM'), 0);
    assert.equal(readFileSync(path, 'utf8'), 'precious\n');
  });

  it('a config dir too long for a socket path: refused, not bound cut short somewhere else', async () => {
    const top = tempDir();
    // Long enough that `<dir>/control.sock` is over the limit, while the dir itself is fine.
    const configDir = join(top, 'c'.repeat(Math.max(1, MAX_SOCKET_PATH_BYTES - top.length)));
    const p = await startProxyAnswering(configDir, () => 'deny');
    assert.ok(
      p.log.lines.some((l) =>
        /^warn control channel off: the control socket path .* bytes, over the \d+ a socket path may have; use a shorter config dir/.test(
          l,
        ),
      ),
      p.log.lines.join('\n'),
    );
    assert.deepEqual(
      readdirSync(top),
      [basename(configDir)],
      'no socket bound at a path cut short',
    );
    assert.deepEqual(readdirSync(configDir).sort(), ['logs']);
    const r = await cli(configDir, 'grants');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /over the \d+ a socket path may have/);
  });

  it('garbage lines get an error each and do not end the channel; an over-long line is refused and closed', async () => {
    const configDir = join(tempDir(), 'cfg');
    const p = await startProxyAnswering(configDir, () => 'deny');
    const path = controlSocketPath(configDir);
    const answers = await exchange(
      path,
      [
        'not json',
        '[]',
        '{"op":"nope"}',
        '{"op":"revoke","id":{"$ne":1}}',
        '\u0000\u00ff',
        '{"op":"status"}',
      ].join('\n') + '\n',
      6,
      configDir,
    );
    assert.equal(answers.length, 6, answers.join('\n'));
    for (const a of answers.slice(0, 5)) assert.match(JSON.parse(a).error, /^bad-request: /);
    assert.equal(JSON.parse(answers[5]!).ok, true);
    const long = await exchange(path, 'x'.repeat(MAX_LINE_BYTES * 4), 1, configDir);
    assert.equal(long.length, 1);
    assert.match(JSON.parse(long[0]!).error, /^line-too-long: /);
    // Whole, with its newline, in one write: refused too, and nothing after it is read.
    const pauseLine = JSON.stringify({ op: 'pause', pad: 'x'.repeat(MAX_LINE_BYTES) });
    const whole = await exchange(path, `${pauseLine}\n{"op":"pause"}\n`, 2, configDir);
    assert.equal(whole.length, 1, whole.join('\n'));
    assert.match(JSON.parse(whole[0]!).error, /^line-too-long: /);
    // Still serving, and nothing changed.
    assert.equal((await cli(configDir, 'grants')).code, 0);
    assert.equal(p.proxy.broker.paused, false);
  });

  it(`at most ${MAX_CONTROL_CONNECTIONS} connections at once; a closed one frees its place`, async () => {
    const configDir = join(tempDir(), 'cfg');
    await startProxyAnswering(configDir, () => 'deny');
    const path = controlSocketPath(configDir);
    const held = [];
    for (let i = 0; i < MAX_CONTROL_CONNECTIONS; i++) {
      // Answered: the server has taken it (and counts it).
      const s = connect({ path });
      await new Promise<void>((resolve) => {
        s.once('data', () => resolve());
        s.write(`${JSON.stringify({ op: 'hello', nonce: newNonce() })}\n`);
      });
      held.push(s);
    }
    const extra = await exchange(path, '{"op":"status"}\n', 1).catch(() => []);
    assert.deepEqual(extra, [], 'the connection over the cap is closed unanswered');
    held.pop()!.destroy();
    // Its close reaches the server in its own time: ask again, a bounded number of times.
    let answered: string[] = [];
    for (let i = 0; i < 100 && answered.length === 0; i++) {
      answered = await exchange(path, '{"op":"status"}\n', 1).catch(() => []);
    }
    assert.equal(answered.length, 1);
    for (const s of held) s.destroy();
  });
});
