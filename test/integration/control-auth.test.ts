// Who is at the other end of the control channel (src/core/control/control-key.ts,
// control-session.ts, src/cli/control-client.ts). The socket path (or, on Windows, the pipe
// name: a predictable hash of the config dir) proves nothing on its own: another user may
// create the pipe first, a foreign or stale process may hold the path. So each side proves it
// knows the secret in `<config dir>/control.key` (0600), made afresh at each start:
// - a foreign server at the socket path, without the secret, is detected by the client —
//   exit 1, one clear line, and the request (pause) is never sent to it;
// - a client without the secret is refused by the proxy, whatever it sends: no hello, a
//   missing or wrong proof, a proof made with another key, a proof replayed from another
//   connection;
// - two proxies on one config dir: the answer names the proxy that acted (address and pid),
//   and the second one says at start that the channel does not reach it.
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  clientProof,
  controlKeyPath,
  newNonce,
  newSecret,
  readControlKey,
  writeControlKey,
} from '../../src/core/control/control-key.js';
import { controlSocketPath } from '../../src/core/control/control-socket.js';
import { agentWithKey } from '../helpers/fixtures.js';
import { handshake } from '../helpers/control-handshake.js';
import { onCleanup, tempDir, type Agent } from '../helpers/openssh.js';
import { cliIn, startShellProxy } from '../helpers/shell-proxy.js';
import { needsModeBits } from '../helpers/platform.js';

let agent: Agent;
let dir: string;
before(async () => {
  ({ agent, dir } = await agentWithKey());
});

const startDenyingProxy = (configDir: string) =>
  startShellProxy({
    SSH_AGENT_PROXY_APPROVAL: 'deny',
    SSH_AGENT_PROXY_CONFIG_DIR: configDir,
    SSH_AGENT_PROXY_UPSTREAM: agent.sock,
  });

const cli = (configDir: string, ...args: string[]) => cliIn(dir, configDir, ...args);

/** Connect, send `lines`, collect answers until the proxy closes the connection. */
async function talk(path: string, send: (sock: Socket) => Promise<void>): Promise<string[]> {
  const sock = connect({ path });
  onCleanup(() => sock.destroy());
  await new Promise<void>((r) => sock.once('connect', () => r()));
  let got = '';
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  await send(sock);
  sock.on('data', (c: Buffer) => void (got += c.toString()));
  await closed;
  return got.split('\n').filter(Boolean);
}

describe('control channel: who answers, who asks', { skip: needsModeBits }, () => {
  it('a foreign server at the socket path, without the key, is detected: exit 1, nothing sent', async () => {
    const configDir = join(tempDir(), 'cfg');
    mkdirSync(configDir, { mode: 0o700 });
    chmodSync(configDir, 0o700);
    writeControlKey(configDir, newSecret()); // a proxy's key, which the impostor cannot read
    const received: string[] = [];
    // It says yes to everything, as a lying server would, with a made-up "proof".
    const fake = createServer((s) => {
      s.on('data', (c) => {
        for (const line of c.toString().split('\n').filter(Boolean)) {
          received.push(line);
          const yes = { ok: true, paused: true, policy: 'prompt', pending: 0, grants: [] };
          s.write(`${JSON.stringify({ ...yes, nonce: newNonce(), proof: newNonce() })}\n`);
        }
      });
      s.on('error', () => {});
    });
    const path = controlSocketPath(configDir);
    await new Promise<void>((r) => fake.listen(path, () => r()));
    onCleanup(() => fake.close());
    const r = await cli(configDir, 'pause');
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      r.stderr,
      /^ssh-agent-proxy: the process answering at .*control\.sock did not prove it knows the control key in .*control\.key: it is not the proxy running with this config dir/,
    );
    assert.doesNotMatch(r.stdout, /paused/);
    assert.equal(received.length, 1, received.join('\n'));
    assert.equal(JSON.parse(received[0]!).op, 'hello', 'only the hello reached the impostor');
  });

  it('a client without the key is refused, whatever it sends; the key file is 0600 and new each start', async () => {
    const configDir = join(tempDir(), 'cfg');
    const p = await startDenyingProxy(configDir);
    const path = controlSocketPath(configDir);
    assert.equal(lstatSync(controlKeyPath(configDir)).mode & 0o777, 0o600);
    const secret = readControlKey(configDir);
    const refusedLines = (lines: string[]) => {
      assert.equal(lines.length >= 1, true, 'answered before closing');
      assert.match(JSON.parse(lines.at(-1)!).error, /^unauthenticated: /);
      assert.equal(p.proxy.broker.paused, false);
    };
    // No hello at all.
    refusedLines(await talk(path, async (s) => void s.write('{"op":"pause"}\n')));
    // Hello, then no proof, a wrong proof, a proof made with another key.
    for (const proof of [undefined, '0'.repeat(64), null]) {
      const lines = await talk(path, async (s) => {
        const nonce = newNonce();
        s.write(`${JSON.stringify({ op: 'hello', nonce })}\n`);
        const hello = await new Promise<{ nonce: string }>((r) =>
          s.once('data', (c) => r(JSON.parse(c.toString()))),
        );
        const made = proof === null ? clientProof(newSecret(), nonce, hello.nonce) : proof;
        s.write(`${JSON.stringify({ op: 'pause', proof: made })}\n`);
      });
      refusedLines(lines);
    }
    // A proof that was good on one connection is worthless on another (fresh nonces).
    const first = connect({ path });
    onCleanup(() => first.destroy());
    await new Promise<void>((r) => first.once('connect', () => r()));
    const good = await handshake(first, secret);
    refusedLines(
      await talk(path, async (s) => {
        s.write(`${JSON.stringify({ op: 'hello', nonce: newNonce() })}\n`);
        await new Promise((r) => s.once('data', r));
        s.write(`${JSON.stringify({ op: 'pause', proof: good })}\n`);
      }),
    );
    // The same proof on its own connection works: the refusals were the key, not the harness.
    first.write(`${JSON.stringify({ op: 'pause', proof: good })}\n`);
    const answer = await new Promise<string>((r) => first.once('data', (c) => r(c.toString())));
    assert.equal(JSON.parse(answer).ok, true, answer);
    assert.equal(p.proxy.broker.paused, true);
    // A restart makes a new key; a clean stop removes it.
    const before = readFileSync(controlKeyPath(configDir), 'utf8');
    await p.proxy.close(100);
    assert.throws(() => readControlKey(configDir), /no proxy is running/);
    const again = await startDenyingProxy(configDir);
    assert.notEqual(readFileSync(controlKeyPath(configDir), 'utf8'), before);
    assert.equal((await cli(configDir, 'grants')).code, 0);
    await again.proxy.close(100);
  });

  it('two proxies on one config dir: the answer names the one that acted; the other says the channel is off for it', async () => {
    const configDir = join(tempDir(), 'cfg');
    const first = await startDenyingProxy(configDir);
    const second = await startDenyingProxy(configDir);
    assert.ok(
      second.log.lines.some((l) =>
        l.startsWith(
          `warn control channel off: ${controlSocketPath(configDir)} is in use (another ssh-agent-proxy?); ssh-agent-proxy grants/pause/resume cannot reach THIS proxy (pid ${process.pid}, ${second.url})`,
        ),
      ),
      second.log.lines.join('\n'),
    );
    assert.match(second.controlOff() ?? '', /cannot reach THIS proxy/, 'the tray is told too');
    assert.equal(first.controlOff(), undefined);
    const r = await cli(configDir, 'pause');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      `signing paused on the proxy at ${first.url} (pid ${process.pid}): every request is refused until: ssh-agent-proxy resume\n`,
    );
    assert.equal(first.proxy.broker.paused, true);
    assert.equal(second.proxy.broker.paused, false);
    const g = await cli(configDir, 'grants');
    assert.match(
      g.stdout,
      new RegExp(`^\\(the proxy at ${first.url.replace(/\./g, '\\.')}, pid \\d+\\)$`, 'm'),
    );
  });
});
