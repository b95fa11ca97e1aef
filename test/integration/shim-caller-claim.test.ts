// The sandbox's own claim (#19 item 5): the shim sends the command line of the process that
// runs it — git, as git runs it — in X-SSH-Agent-Proxy-Caller, and the proxy shows it apart
// from what the host saw (`Sandbox says …`) and records it as `claim`. Real git through the
// real shim, on its three paths: bash's /dev/tcp (git's fast path), curl under dash, and
// curl under BusyBox sh with no bash anywhere on PATH. The claim is printable ASCII, bounded,
// and never carries the token.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { PendingRequest } from '../../src/core/approval/approval-broker.js';
import { formatAudit, type AuditRecord } from '../../src/core/approval/audit.js';
import { requestLines } from '../../src/core/approval/request-view.js';
import { agentWithKey, createToken, type AgentWithKey } from '../helpers/fixtures.js';
import { run, tempDir } from '../helpers/openssh.js';
import { SHIM, startTestProxy } from '../helpers/proxy.js';
import { BUSYBOX, sandboxPath } from '../helpers/sandbox-path.js';

const linux = process.platform === 'linux';
let fx: AgentWithKey;
before(async () => {
  if (linux) fx = await agentWithKey();
});

async function promptingProxy(env: Record<string, string> = {}) {
  const audit: AuditRecord[] = [];
  const p = await startTestProxy(
    { SSH_AGENT_PROXY_UPSTREAM: fx.agent.sock, SSH_AGENT_PROXY_APPROVAL: 'prompt', ...env },
    undefined,
    { audit: { write: (r) => void audit.push(r) } },
  );
  const seen: PendingRequest[] = [];
  p.proxy.broker.attach({
    update(queue) {
      for (const q of queue) {
        if (seen.some((s) => s.id === q.id)) continue;
        seen.push(q);
        p.proxy.broker.answer({ id: q.id }, 'allow-once');
      }
    },
  });
  return { ...p, audit, seen };
}

type Path = 'bash' | 'curl' | 'busybox';

/** A repo whose signing program is the shim (for BusyBox: a copy that starts in BusyBox sh). */
async function repoFor(path: Path, url: string, extra: Record<string, string> = {}) {
  const home = tempDir('sap-claim-');
  const repo = join(home, 'repo');
  mkdirSync(repo, { recursive: true });
  let shim = SHIM;
  let PATH = process.env.PATH ?? '/usr/bin:/bin';
  if (path === 'busybox') {
    shim = join(home, 'ssh-agent-proxy-sign');
    const text = readFileSync(SHIM, 'utf8').replace(/^#!.*\n/, `#!${BUSYBOX} sh\n`);
    writeFileSync(shim, text);
    chmodSync(shim, 0o755);
    PATH = sandboxPath(home, 'busybox', ['curl', 'git', 'ssh-keygen']);
  }
  const env: Record<string, string> = {
    PATH,
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    SSH_AGENT_PROXY_URL: `${url}/sign`,
    ...(path === 'curl' ? { SSH_AGENT_PROXY_FAST: '0' } : {}),
    ...extra,
  };
  const git = (...args: string[]) => run('git', args, { env, cwd: repo });
  await git('init', '-q', '-b', 'main');
  for (const [k, v] of [
    ['user.name', 'Ana Example'],
    ['user.email', 'ana@example.test'],
    ['gpg.format', 'ssh'],
    ['gpg.ssh.program', shim],
    ['user.signingkey', fx.key.pub],
  ])
    await git('config', k!, v!);
  writeFileSync(join(repo, 'f'), 'hello\n');
  await git('add', 'f');
  return { git, env, repo, shim };
}

const sandboxSays = (r: PendingRequest) =>
  requestLines(r).find((l) => l.value.includes('its own claim'));

describe(
  'the shim says which git command runs it (Linux /proc)',
  { skip: !linux && 'Linux' },
  () => {
    for (const path of ['bash', 'curl', 'busybox'] as const) {
      it(`git commit -S through the shim (${path} path): the prompt and the audit show the claim`, async () => {
        const p = await promptingProxy();
        const { git } = await repoFor(path, p.url);
        const c = await git('commit', '-S', '-q', '-m', 'Fix login race');
        assert.equal(c.code, 0, c.stderr);
        const asked = p.seen.find((r) => r.description.kind === 'commit');
        assert.ok(asked, 'the commit was put to the person');
        assert.equal(asked.client.claim, 'git commit -S -q -m Fix login race');
        assert.match(sandboxSays(asked)?.value ?? '', /git commit -S -q -m Fix login race/);
        const rec = p.audit.find((a) => a.outcome === 'ok');
        assert.equal(rec?.claim, 'git commit -S -q -m Fix login race');
        assert.match(formatAudit(rec!), /sandbox says: git commit -S -q -m Fix login race/);
        // A signed tag says so too.
        const t = await git('tag', '-s', '-m', 'release', 'v1');
        assert.equal(t.code, 0, t.stderr);
        assert.ok(p.seen.some((r) => r.client.claim === 'git tag -s -m release v1'));
      });

      it(`the claim is printable ASCII, bounded, and never holds the token (${path} path)`, async () => {
        const cfg = join(tempDir('sap-claim-cfg-'), 'cfg');
        const token = await createToken(cfg, 'box');
        const p = await promptingProxy({ SSH_AGENT_PROXY_CONFIG_DIR: cfg });
        const { git } = await repoFor(path, p.url, { SSH_AGENT_PROXY_TOKEN: token });
        // A message with control bytes, non-ASCII and far more than 200 bytes.
        const odd = `odd\u0001\u001b[2J caf\u00e9 ${'x'.repeat(400)}`;
        const c = await git('commit', '-S', '-q', '-m', odd);
        assert.equal(c.code, 0, c.stderr);
        const claim = p.seen[0]?.client.claim ?? '';
        assert.match(claim, /^git commit -S -q -m /);
        assert.match(claim, /^[ -~]+$/, 'printable ASCII only');
        assert.ok(claim.length <= 200, `bounded: ${claim.length}`);
        assert.ok(!claim.includes('\u001b') && !claim.includes('caf\u00e9'));
        // The token on git's command line: the claim is dropped rather than sent.
        const withToken = await git(
          '-c',
          `user.note=${token}`,
          'commit',
          '--amend',
          '-S',
          '-q',
          '--no-edit',
        );
        assert.equal(withToken.code, 0, withToken.stderr);
        assert.equal(p.seen.length, 2);
        assert.equal(p.seen[1]!.client.claim, undefined, 'no claim holding the token');
        for (const r of p.audit)
          assert.ok(!JSON.stringify(r).includes(token), 'no token in the audit');
      });
    }
  },
);
