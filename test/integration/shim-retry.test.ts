// The shim waits out the proxy's 429s (Retry-After) within SSH_AGENT_PROXY_TIMEOUT, on both
// of its transports, against a real proxy whose rate limit is tiny enough that real 429s
// happen; every signature it returns still verifies.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { agentWithKey, commitObject, type AgentWithKey } from '../helpers/fixtures.js';
import { run, tempDir } from '../helpers/openssh.js';
import { SHIM, spawnConsole, type ConsoleProxy } from '../helpers/proxy.js';
import { shimForms, type ShimForm } from '../helpers/shim-forms.js';
import { needsPosixShell } from '../helpers/platform.js';

let a: AgentWithKey;
let forms: ShimForm[];

before(async () => {
  a = await agentWithKey();
  forms = shimForms(tempDir());
});

function env(f: ShimForm, proxy: ConsoleProxy, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: f.path, HOME: a.dir, SSH_AGENT_PROXY_URL: `${proxy.url}/sign`, ...extra };
}

describe('the shim and 429 Retry-After', { skip: needsPosixShell }, () => {
  // The two transports (bash without curl shares the bash path's retry code).
  for (const formName of ['bash and curl', 'sh and curl, no bash']) {
    it(`waits as the proxy asks, says so once, and every signature verifies (${formName})`, async () => {
      const f = forms.find((x) => x.name === formName)!;
      // One client may sign 600 a minute after a burst of 1, with 8 waiting their turn: 40
      // signers at once overflow that queue (unless they arrive over more than 3 s), so some
      // get 429 rate-limited with Retry-After.
      const proxy = await spawnConsole({
        SSH_AUTH_SOCK: a.agent.sock,
        SSH_AGENT_PROXY_CONFIG_DIR: join(a.dir, 'cfg-' + formName.replace(/\W+/g, '-')),
        SSH_AGENT_PROXY_RATE_LIMIT: '600',
        SSH_AGENT_PROXY_RATE_BURST: '1',
      });
      const dir = tempDir();
      const files = Array.from({ length: 40 }, (_, i) => {
        const p = join(dir, `commit-${i}`);
        writeFileSync(p, commitObject(`commit ${i}`));
        return p;
      });
      const results = await Promise.all(
        files.map((p) =>
          run(SHIM, ['-Y', 'sign', '-n', 'git', '-f', a.key.pub, p], { env: env(f, proxy) }),
        ),
      );
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      const waited = results.filter((r) => r.stderr !== '');
      assert.ok(waited.length > 0, 'some signers met a 429');
      assert.match(proxy.stderr(), /status=429/);
      for (const r of waited) {
        // Said once per signer, however many times it waited.
        assert.match(
          r.stderr,
          /^ssh-agent-proxy-sign: rate-limited: this client is over 600 sign requests a minute .* \(HTTP 429\); waiting as the proxy asks \(Retry-After: \d+ s\), for up to 130 s \(SSH_AGENT_PROXY_TIMEOUT\)\n$/,
        );
      }
      writeFileSync(join(dir, 'allowed'), `me ${a.key.line}\n`);
      for (const p of files) {
        const v = await run(
          'ssh-keygen',
          ['-Y', 'verify', '-f', join(dir, 'allowed'), '-I', 'me', '-n', 'git', '-s', `${p}.sig`],
          { input: readFileSync(p) },
        );
        assert.equal(v.code, 0, v.stderr);
      }
      await proxy.stop();
    });
  }

  it('a Retry-After beyond SSH_AGENT_PROXY_TIMEOUT fails at once with the reason, on every form', async () => {
    // 1 a minute, burst 1: the second request would wait about a minute, so it is refused
    // with Retry-After ≈ 60 — longer than this shim's 5 s.
    const proxy = await spawnConsole({
      SSH_AUTH_SOCK: a.agent.sock,
      SSH_AGENT_PROXY_CONFIG_DIR: join(a.dir, 'cfg-slow'),
      SSH_AGENT_PROXY_RATE_LIMIT: '1',
      SSH_AGENT_PROXY_RATE_BURST: '1',
    });
    const dir = tempDir();
    const data = join(dir, 'data');
    writeFileSync(data, 'x');
    const first = await run(SHIM, ['-Y', 'sign', '-n', 'git', '-f', a.key.pub, data], {
      env: env(forms[0]!, proxy),
    });
    assert.equal(first.code, 0, first.stderr);
    const stderrs = new Set<string>();
    for (const f of forms) {
      const r = await run(SHIM, ['-Y', 'sign', '-n', 'git', '-f', a.key.pub, data], {
        env: env(f, proxy, { SSH_AGENT_PROXY_TIMEOUT: '5' }),
      });
      assert.equal(r.code, 1);
      stderrs.add(r.stderr);
    }
    assert.equal(stderrs.size, 1, 'every form says the same');
    assert.match([...stderrs][0]!, /^ssh-agent-proxy-sign: rate-limited: .* \(HTTP 429\)\n$/);
    await proxy.stop();
  });
});
