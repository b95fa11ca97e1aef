// The shim waits out the proxy's 429s (Retry-After) within SSH_AGENT_PROXY_TIMEOUT, on both
// of its transports, against a real proxy made to answer 429 (too many requests waiting for
// approval, or a rate limit tiny enough); every signature it returns still verifies.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { agentWithKey, commitObject, type AgentWithKey } from '../helpers/fixtures.js';
import { spawn } from 'node:child_process';
import type { PendingRequest } from '../../src/core/approval/approval-broker.js';
import { onCleanup, run, tempDir, waitFor, type RunResult } from '../helpers/openssh.js';
import { SHIM, startTestProxy } from '../helpers/proxy.js';
import { shimForms, type ShimForm } from '../helpers/shim-forms.js';
import { needsPosixShell } from '../helpers/platform.js';

let a: AgentWithKey;
let forms: ShimForm[];

before(async () => {
  a = await agentWithKey();
  forms = shimForms(tempDir());
});

function env(
  f: ShimForm,
  url: string,
  token: string,
  extra: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  return {
    PATH: f.path,
    HOME: a.dir,
    SSH_AGENT_PROXY_URL: `${url}/sign`,
    SSH_AGENT_PROXY_TOKEN: token,
    ...extra,
  };
}

/** A signer whose stderr can be watched while it runs. */
function startSigner(cmd: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const done = new Promise<RunResult>((resolve) =>
    child.once('close', (code) => resolve({ code: code ?? -1, stdout: out, stderr: err })),
  );
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await done;
  });
  return { stderr: () => err, done };
}

describe('the shim and 429 Retry-After', { skip: needsPosixShell }, () => {
  // The two transports (bash without curl shares the bash path's retry code). Every 429 here
  // is caused, not hoped for: one client may have one request waiting for approval, the
  // first signer's request waits until the test answers it, and the others are started only
  // then, so each meets 429 too-many-pending (Retry-After: 5) however fast the machine is.
  for (const formName of ['bash and curl', 'sh and curl, no bash']) {
    it(`waits as the proxy asks, says so once, and every signature verifies (${formName})`, async () => {
      const f = forms.find((x) => x.name === formName)!;
      const p = await startTestProxy({
        SSH_AGENT_PROXY_UPSTREAM: a.agent.sock,
        SSH_AGENT_PROXY_APPROVAL: 'prompt',
        SSH_AGENT_PROXY_MAX_PENDING_PER_CLIENT: '1',
      });
      const token = p.proxy.tokens.create('retrier');
      // The person: holds every request until `answering`, then allows each once.
      let answering = false;
      const seen = new Set<string>();
      const answerNew = (queue: readonly PendingRequest[]) => {
        if (!answering) return;
        for (const q of queue) {
          if (seen.has(q.id)) continue;
          seen.add(q.id);
          p.proxy.broker.answer({ id: q.id }, 'allow-once');
        }
      };
      let pending: readonly PendingRequest[] = [];
      p.proxy.broker.attach({
        update(queue) {
          pending = queue;
          answerNew(queue);
        },
      });
      const dir = tempDir();
      const files = Array.from({ length: 4 }, (_, i) => {
        const path = join(dir, `commit-${i}`);
        writeFileSync(path, commitObject(`commit ${i}`));
        return path;
      });
      const sign = (file: string) =>
        startSigner(SHIM, ['-Y', 'sign', '-n', 'git', '-f', a.key.pub, file], env(f, p.url, token));
      const first = sign(files[0]!);
      await waitFor(() => pending.length === 1, 30_000, 'the first request to wait for approval');
      const others = files.slice(1).map(sign);
      await waitFor(
        () => others.every((o) => o.stderr().includes('waiting as the proxy asks')),
        30_000,
        'every other signer to meet the 429',
      );
      answering = true;
      answerNew(pending);
      const results = await Promise.all([first, ...others].map((s) => s.done));
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      assert.equal(results[0]!.stderr, '', 'the first signer never waited');
      for (const r of results.slice(1)) {
        // Said once per signer, however many times it waited.
        assert.match(
          r.stderr,
          /^ssh-agent-proxy-sign: too-many-pending: this client already has 1 requests waiting for approval \(HTTP 429\); waiting as the proxy asks \(Retry-After: 5 s\), for up to 130 s \(SSH_AGENT_PROXY_TIMEOUT\)\n$/,
        );
      }
      writeFileSync(join(dir, 'allowed'), `me ${a.key.line}\n`);
      for (const path of files) {
        const v = await run(
          'ssh-keygen',
          [
            '-Y',
            'verify',
            '-f',
            join(dir, 'allowed'),
            '-I',
            'me',
            '-n',
            'git',
            '-s',
            `${path}.sig`,
          ],
          { input: readFileSync(path) },
        );
        assert.equal(v.code, 0, v.stderr);
      }
    });
  }

  it('a Retry-After beyond SSH_AGENT_PROXY_TIMEOUT fails at once with the reason, on every form', async () => {
    // 1 a minute, burst 1: the second request would wait about a minute, so it is refused
    // with Retry-After ≈ 60 — longer than this shim's 5 s.
    const p = await startTestProxy({
      SSH_AGENT_PROXY_UPSTREAM: a.agent.sock,
      SSH_AGENT_PROXY_RATE_LIMIT: '1',
      SSH_AGENT_PROXY_RATE_BURST: '1',
    });
    const token = p.proxy.tokens.create('hasty');
    const dir = tempDir();
    const data = join(dir, 'data');
    writeFileSync(data, 'x');
    const first = await run(SHIM, ['-Y', 'sign', '-n', 'git', '-f', a.key.pub, data], {
      env: env(forms[0]!, p.url, token),
    });
    assert.equal(first.code, 0, first.stderr);
    const stderrs = new Set<string>();
    for (const f of forms) {
      const r = await run(SHIM, ['-Y', 'sign', '-n', 'git', '-f', a.key.pub, data], {
        env: env(f, p.url, token, { SSH_AGENT_PROXY_TIMEOUT: '5' }),
      });
      assert.equal(r.code, 1);
      stderrs.add(r.stderr);
    }
    assert.equal(stderrs.size, 1, 'every form says the same');
    assert.match([...stderrs][0]!, /^ssh-agent-proxy-sign: rate-limited: .* \(HTTP 429\)\n$/);
  });
});
