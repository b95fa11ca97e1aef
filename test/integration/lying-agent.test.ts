// A misbehaving agent never gets a signature past the proxy, and the proxy keeps serving.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { run, tempDir } from '../helpers/openssh.js';
import { startLyingAgent, type Lie, type LyingAgent } from '../helpers/lying-agent.js';
import { http, startTestProxy } from '../helpers/proxy.js';

let dir: string;
let liar: LyingAgent;
let url: string;

before(async () => {
  dir = tempDir();
  liar = await startLyingAgent(dir, ['ed25519', 'rsa', 'sk', 'sk-ecdsa']);
  url = (
    await startTestProxy({
      SSH_AGENT_PROXY_UPSTREAM: liar.sock,
      SSH_AGENT_PROXY_SIGN_TIMEOUT: '1',
      SSH_AGENT_PROXY_LIST_TIMEOUT: '1',
    })
  ).url;
});

async function signWith(keyLine: string, body = 'payload') {
  return http(`${url}/sign`, {
    method: 'POST',
    headers: { 'X-SSH-Agent-Proxy-Key': keyLine },
    body,
  });
}

async function assertHonestStillWorks(keyLine: string) {
  liar.lie = 'honest';
  const ok = await signWith(keyLine, 'after');
  assert.equal(ok.status, 200, ok.text);
  const file = join(dir, 'after.sig');
  writeFileSync(file, ok.body);
  const v = await run('ssh-keygen', ['-Y', 'check-novalidate', '-n', 'git', '-s', file], {
    input: 'after',
  });
  assert.equal(v.code, 0, v.stderr);
}

const CASES: { lie: Lie; key: 'ed25519' | 'rsa' | 'sk'; status: number; line: RegExp }[] = [
  {
    lie: 'truncated',
    key: 'ed25519',
    status: 502,
    line: /^agent-protocol-error: the agent closed the connection during the sign request$/,
  },
  {
    lie: 'huge-length',
    key: 'ed25519',
    status: 502,
    line: /^agent-protocol-error: .*exceeds the 262144-byte limit/,
  },
  {
    lie: 'wrong-type',
    key: 'ed25519',
    status: 502,
    line: /^agent-protocol-error: .*message type 99 to a sign request/,
  },
  {
    lie: 'failure',
    key: 'ed25519',
    status: 502,
    line: /^agent-refused: the agent refused to sign/,
  },
  {
    // A refusal framed with a stray byte ends the connection; still a refusal, not a 503.
    lie: 'failure-with-bytes',
    key: 'ed25519',
    status: 502,
    line: /^agent-refused: the agent refused to sign/,
  },
  {
    lie: 'rsa-sha1',
    key: 'rsa',
    status: 502,
    line: /^bad-signature: .*agent answered with ssh-rsa, expected rsa-sha2-512/,
  },
  {
    lie: 'corrupt-signature',
    key: 'ed25519',
    status: 502,
    line: /^bad-signature: .*does not verify against the public key/,
  },
  {
    lie: 'wrong-key-signature',
    key: 'ed25519',
    status: 502,
    line: /^bad-signature: .*does not verify/,
  },
  {
    lie: 'trailing-bytes',
    key: 'ed25519',
    status: 502,
    line: /^agent-protocol-error: .*trailing bytes/,
  },
  {
    lie: 'hang',
    key: 'ed25519',
    status: 504,
    line: /^agent-timeout: .*did not answer the sign request within 1 s/,
  },
  {
    lie: 'close-mid-answer',
    key: 'ed25519',
    status: 502,
    line: /^agent-protocol-error: the agent closed the connection/,
  },
  {
    lie: 'sk-no-presence',
    key: 'sk',
    status: 502,
    line: /^bad-signature: .*without user presence/,
  },
];

describe('a lying agent gets a clear 502/504, and the next request is served', () => {
  for (const c of CASES) {
    it(c.lie, async () => {
      const line = c.key === 'rsa' ? liar.rsaLine : c.key === 'sk' ? liar.skLine : liar.ed25519Line;
      liar.lie = c.lie;
      const res = await signWith(line);
      assert.equal(res.status, c.status, res.text);
      assert.match(res.text.trimEnd(), c.line);
      assert.equal(res.text.split('\n').length, 2, 'exactly one line');
      assert.doesNotMatch(res.text, /BEGIN SSH SIGNATURE/);
      await assertHonestStillWorks(line);
    });
  }

  it('a key list claiming a billion keys is refused', async () => {
    liar.lie = 'bogus-key-count';
    const res = await http(`${url}/keys`);
    assert.equal(res.status, 502);
    assert.match(res.text, /^agent-protocol-error: .*claims 1000000000 keys/);
    await assertHonestStillWorks(liar.ed25519Line);
  });

  it('honest security-key signatures (sk-ssh-ed25519, sk-ecdsa-sha2-nistp256) verify with ssh-keygen', async () => {
    await assertHonestStillWorks(liar.skLine);
    await assertHonestStillWorks(liar.skEcdsaLine);
    liar.lie = 'sk-no-presence';
    const res = await signWith(liar.skEcdsaLine);
    assert.equal(res.status, 502);
    assert.match(res.text, /^bad-signature: .*without user presence/);
  });

  it('/healthz answers while the agent hangs', async () => {
    liar.lie = 'hang';
    let signSettled = false;
    const pending = signWith(liar.ed25519Line).finally(() => (signSettled = true));
    const health = await http(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(
      signSettled,
      false,
      'healthz answered while the sign request was still waiting on the agent',
    );
    assert.equal((await pending).status, 504);
    liar.lie = 'honest';
  });
});
