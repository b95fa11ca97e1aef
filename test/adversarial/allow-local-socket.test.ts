// Approval `allow` may start once one client token exists, without the consent
// SSH_AGENT_PROXY_ALLOW_ANY_LOCAL_PROCESS. The host-local agent socket never carries a
// token (its client is always "local socket"), so a token made for some other sandbox must
// not let whatever reaches the socket (a VM it is mounted into) sign with no prompt, no
// token and no name: under `allow` without the consent a tokenless client is asked, while
// the token holder still signs unattended. With the consent, the socket signs unattended.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { PendingRequest } from '../../src/core/approval/approval-broker.js';
import { ANY_LOCAL_PROCESS_CONSENT } from '../../src/core/config/settings-spec.js';
import { parseAuthorizedKey } from '../../src/core/ssh/keys.js';
import { byte, string, uint32 } from '../../src/core/ssh/wire.js';
import {
  agentWithKey,
  commitObject,
  createToken,
  SIGN_REQUEST,
  type AgentWithKey,
} from '../helpers/fixtures.js';
import { tempDir } from '../helpers/openssh.js';
import { needsTmux } from '../helpers/platform.js';
import { http, startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { live, openConsoleTerminal } from '../helpers/tmux-console.js';

const SIGN_RESPONSE = 14;
const FAILURE = 5;

let fx: AgentWithKey;
before(async () => {
  fx = await agentWithKey();
});

/** One agent request over the local socket; resolves with the answer's message type. */
function signOverSocket(path: string, data: string): Promise<number> {
  const blob = parseAuthorizedKey(fx.key.line).key.blob;
  const req = Buffer.concat([byte(SIGN_REQUEST), string(blob), string(data), uint32(0)]);
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buf = Buffer.alloc(0);
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 5 && buf.length >= 4 + buf.readUInt32BE(0)) {
        resolve(buf[4]!);
        sock.destroy();
      }
    });
    sock.once('error', reject);
    sock.once('close', () => reject(new Error('the local socket closed without an answer')));
    sock.write(Buffer.concat([uint32(req.length), req]));
  });
}

/** The first request the queue holds, as an attached prompter sees it (then detached). */
function nextPrompt(tp: TestProxy): Promise<PendingRequest> {
  return new Promise((resolve) => {
    const detach = tp.proxy.broker.attach({
      update(queue) {
        if (queue.length === 0) return;
        resolve(queue[0]!);
        queueMicrotask(() => detach());
      },
    });
  });
}

async function allowWithOneToken(consent: string) {
  const cfg = join(tempDir(), 'cfg');
  const token = await createToken(cfg, 'some-other-sandbox'); // the one token that lets `allow` start
  const sock = join(tempDir(), 'agent-dir', 'agent.sock');
  const tp = await startTestProxy({
    SSH_AGENT_PROXY_APPROVAL: 'allow',
    SSH_AGENT_PROXY_ALLOW_ANY_LOCAL_PROCESS: consent,
    SSH_AGENT_PROXY_CONFIG_DIR: cfg,
    SSH_AGENT_PROXY_UPSTREAM: fx.agent.sock,
    SSH_AGENT_PROXY_AGENT_SOCKET: sock,
  });
  return { tp, token, sock };
}

describe(
  'approval allow and the host-local agent socket',
  { skip: process.platform === 'win32' },
  () => {
    it('without the consent, a local-socket request is asked, not signed unattended', async () => {
      const { tp, token, sock } = await allowWithOneToken('');
      // Nobody to ask: refused, not signed.
      assert.equal(await signOverSocket(sock, 'no one asked'), FAILURE);
      assert.equal(tp.proxy.recent().at(-1)?.decidedBy, 'no-approver');

      // A person is asked, names the socket as the client, and decides.
      let prompt = nextPrompt(tp);
      let answer = signOverSocket(sock, 'denied login');
      let shown = await prompt;
      assert.equal(shown.client.name, 'local socket');
      assert.equal(shown.client.token, undefined);
      tp.proxy.broker.answer({ id: shown.id }, 'deny');
      assert.equal(await answer, FAILURE);

      prompt = nextPrompt(tp);
      answer = signOverSocket(sock, 'approved login');
      shown = await prompt;
      tp.proxy.broker.answer({ id: shown.id }, 'allow-once');
      assert.equal(await answer, SIGN_RESPONSE);
      const rec = tp.proxy.recent().at(-1)!;
      assert.equal(rec.client, 'local socket');
      assert.equal(rec.decidedBy, 'person');

      // The token holder is what `allow` is for: it still signs with no one asked.
      const signed = await http(`${tp.url}/sign`, {
        method: 'POST',
        body: commitObject('unattended'),
        headers: { Authorization: `Bearer ${token}` },
      });
      assert.equal(signed.status, 200, signed.text);
      assert.equal(tp.proxy.recent().at(-1)?.decidedBy, 'policy');
      assert.equal(tp.proxy.broker.queue().length, 0);
    });

    it('with the consent, the local socket signs unattended (the trust model chosen outright)', async () => {
      const { tp, sock } = await allowWithOneToken(ANY_LOCAL_PROCESS_CONSENT);
      assert.equal(tp.proxy.broker.hasPrompter, false);
      assert.equal(await signOverSocket(sock, 'a login'), SIGN_RESPONSE);
      const rec = tp.proxy.recent().at(-1)!;
      assert.equal(rec.client, 'local socket');
      assert.equal(rec.decidedBy, 'policy');
    });
  },
);

describe(
  '--console under allow and the host-local agent socket (tmux)',
  { skip: needsTmux },
  () => {
    it('asks for the socket in its terminal: n refuses, y signs', async () => {
      const dir = tempDir();
      const cfg = join(dir, 'cfg');
      await createToken(cfg, 'some-other-sandbox');
      const sock = join(dir, 'agent-dir', 'agent.sock');
      const t = await openConsoleTerminal(dir, fx.agent.sock, {
        SSH_AGENT_PROXY_APPROVAL: 'allow',
        SSH_AGENT_PROXY_CONFIG_DIR: cfg,
        SSH_AGENT_PROXY_AGENT_SOCKET: sock,
      });
      const start = await t.screen();
      assert.match(start, /signs every request that carries a client token without asking/);
      assert.match(start, /the agent socket takes none, so its requests are asked/);

      const denied = signOverSocket(sock, 'denied login');
      const shown = await t.until((s) => live(s) !== '', 'the prompt');
      assert.match(live(shown), /local socket/);
      await t.answer('n');
      assert.equal(await denied, FAILURE);
      await t.until((s) => live(s) === '', 'the answered prompt');

      const approved = signOverSocket(sock, 'approved login');
      await t.until((s) => live(s) !== '', 'the second prompt');
      await t.answer('y');
      assert.equal(await approved, SIGN_RESPONSE);
    });
  },
);
