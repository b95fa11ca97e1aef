// The program that asks, end to end with real processes: a renamed copy of curl POSTing
// /sign on loopback, ssh-add and an ssh login through the host-local agent socket. Each is named in
// the prompt (with its pid and parents) and in the audit record of the decision.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { PendingRequest } from '../../src/core/approval/approval-broker.js';
import { formatAudit } from '../../src/core/approval/audit.js';
import { requestLines } from '../../src/core/approval/request-view.js';
import { describePeer, peerRecord } from '../../src/core/peer/peer-process.js';
import {
  makeKey,
  onCleanup,
  run,
  startAgent,
  tempDir,
  type Agent,
  type TestKey,
} from '../helpers/openssh.js';
import { SHIM, type TestProxy } from '../helpers/proxy.js';
import { answerEach, startAuditedProxy } from '../helpers/audited-proxy.js';
import { UNSAFE_FOR_DISPLAY } from '../../src/core/display-text.js';
import { sshSigningConfig } from '../helpers/git-signing.js';
import { sshArgs, startSshd } from '../helpers/sshd.js';

const linux = process.platform === 'linux';
let dir: string;
let agent: Agent;
let key: TestKey;

before(async () => {
  if (!linux) return;
  dir = tempDir('sap-peer-');
  agent = await startAgent(dir);
  key = await makeKey(dir, 'ed25519');
  await agent.add(key);
});

const proxyWith = (env: Record<string, string>) =>
  startAuditedProxy({
    SSH_AGENT_PROXY_UPSTREAM: agent.sock,
    SSH_AGENT_PROXY_APPROVAL: 'prompt',
    ...env,
  });

/** Allow each request put to a person, once; the requests seen. */
const allowEach = (p: TestProxy) => answerEach(p, 'allow-once');

function onCleanupKill(child: ChildProcess): void {
  onCleanup(() => void (child.exitCode === null && child.kill('SIGKILL')));
}

function exit(child: ChildProcess): Promise<number | null> {
  return new Promise((r) =>
    child.exitCode !== null ? r(child.exitCode) : child.once('exit', (c) => r(c)),
  );
}

/** `curl` (or a copy of it) POSTing a few bytes, written to `name` in the test dir, to /sign. */
function postData(curl: string, url: string, name: string, args: string[] = []): ChildProcess {
  const payload = join(dir, name);
  writeFileSync(payload, 'data\n');
  return spawn(
    curl,
    [
      '-fsS',
      '-o',
      '/dev/null',
      ...args,
      '--data-binary',
      `@${payload}`,
      `${url}/sign?namespace=git`,
    ],
    { stdio: 'ignore' },
  );
}

const programLine = (r: PendingRequest) => requestLines(r).find((l) => l.label === 'Program');

describe('the program in the prompt and the audit (Linux)', { skip: !linux && 'Linux' }, () => {
  it('a renamed curl on loopback: name, pid and parents', async () => {
    const p = await proxyWith({});
    const seen = allowEach(p);
    const fetcher = join(dir, 'fetch-renamed');
    copyFileSync('/usr/bin/curl', fetcher);
    const payload = join(dir, 'payload');
    writeFileSync(payload, 'some data to sign\n');
    // sh in between, so the chain is fetch-renamed ← sh ← node.
    const sh = spawn(
      'sh',
      [
        '-c',
        '"$0" -fsS -o /dev/null --data-binary @"$1" "$2"',
        fetcher,
        payload,
        `${p.url}/sign?namespace=git`,
      ],
      { stdio: 'ignore' },
    );
    assert.equal(await exit(sh), 0, 'curl got its signature');
    assert.equal(seen.length, 1);
    const program = seen[0]!.client.program;
    assert.ok(program, 'the prompt names the program');
    assert.equal(program.name, 'fetch-renamed');
    assert.equal(program.exe, fetcher);
    assert.equal(program.parents[0]?.pid, sh.pid);
    assert.equal(program.parents[0]?.name, 'sh');
    assert.equal(program.parents[1]?.pid, process.pid);
    assert.match(
      programLine(seen[0]!)?.value ?? '',
      new RegExp(`^fetch-renamed \\(pid ${program.pid}\\) ← sh ← `),
    );
    const rec = p.audit.find((a) => a.id && a.outcome === 'ok');
    assert.ok(rec, 'the decision is recorded');
    // The record keeps what the process cannot choose: the executable and its start time.
    assert.equal(rec.program, peerRecord(program));
    assert.match(rec.program ?? '', new RegExp(`; exe ${fetcher}; started ${program.startTime}$`));
    // `ssh-agent-proxy audit` prints it.
    assert.match(
      formatAudit(rec),
      new RegExp(`  program: fetch-renamed \\(pid ${program.pid}\\) ← sh`),
    );
  });

  it('ssh-add through the host-local agent socket', async () => {
    const sockDir = join(dir, 'local-agent');
    const path = join(sockDir, 'agent.sock');
    const p = await proxyWith({ SSH_AGENT_PROXY_AGENT_SOCKET: path });
    const seen = allowEach(p);
    // -T: ssh-add asks the agent to sign a challenge with the key, and checks it.
    const add = spawn('ssh-add', ['-T', key.pub], {
      stdio: 'ignore',
      env: { ...process.env, SSH_AUTH_SOCK: path },
    });
    assert.equal(await exit(add), 0, 'ssh-add -T succeeded');
    assert.ok(seen.length >= 1);
    const program = seen[0]!.client.program;
    assert.equal(program?.name, 'ssh-add');
    assert.equal(program?.pid, add.pid);
    assert.equal(program?.parents[0]?.pid, process.pid);
    assert.match(programLine(seen[0]!)?.value ?? '', new RegExp(`^ssh-add \\(pid ${add.pid}\\)`));
    const rec = p.audit.find((a) => a.client === 'local socket');
    assert.ok(rec, 'the decision is recorded');
    assert.equal(rec.program, peerRecord(program!));
  });

  it('an ssh login through the host-local agent socket names ssh, its pid and parents', async () => {
    const sshd = await startSshd(dir, [key.line], 'sshd-peer');
    const knownHosts = join(dir, 'known_hosts_peer');
    writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
    const path = join(dir, 'local-agent-ssh', 'agent.sock');
    const p = await proxyWith({ SSH_AGENT_PROXY_AGENT_SOCKET: path });
    const seen = allowEach(p);
    const ssh = spawn('ssh', [...sshArgs(sshd, knownHosts, path), 'true'], { stdio: 'ignore' });
    onCleanupKill(ssh);
    assert.equal(await exit(ssh), 0, `the login succeeded: ${sshd.log()}`);
    const login = seen.find((r) => r.client.program?.name === 'ssh');
    assert.ok(login, `ssh was named: ${seen.map((r) => r.client.program?.name).join(', ')}`);
    assert.equal(login.client.program!.pid, ssh.pid);
    assert.equal(login.client.program!.parents[0]?.pid, process.pid);
    assert.match(programLine(login)?.value ?? '', new RegExp(`^ssh \\(pid ${ssh.pid}\\)`));
    const rec = p.audit.find((a) => a.client === 'local socket' && a.program !== null);
    assert.ok(rec, 'the login is recorded');
    assert.equal(rec.program, peerRecord(login.client.program!));
    sshd.stop();
  });

  it('SSH_AGENT_PROXY_PROGRAM_LOOKUP=false: no lookup, no Program line, none recorded', async () => {
    const p = await proxyWith({ SSH_AGENT_PROXY_PROGRAM_LOOKUP: 'false' });
    const seen = allowEach(p);
    const payload = join(dir, 'payload-nolookup');
    writeFileSync(payload, 'data\n');
    const child = spawn(
      'curl',
      ['-fsS', '-o', '/dev/null', '--data-binary', `@${payload}`, `${p.url}/sign`],
      {
        stdio: 'ignore',
      },
    );
    assert.equal(await exit(child), 0);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.client.program, undefined);
    assert.equal(programLine(seen[0]!), undefined);
    const rec = p.audit.find((a) => a.id && a.outcome === 'ok');
    assert.ok(rec);
    assert.equal(rec.program, undefined);
  });

  it('curl run under the name git: the Program line shows its real executable', async () => {
    const p = await proxyWith({});
    const seen = allowEach(p);
    const binDir = join(dir, 'impostor-bin');
    mkdirSync(binDir, { recursive: true });
    const fake = join(binDir, 'git');
    symlinkSync('/usr/bin/curl', fake);
    const payload = join(dir, 'payload-impostor');
    writeFileSync(payload, 'data\n');
    const child = spawn(
      fake,
      ['-fsS', '-o', '/dev/null', '--data-binary', `@${payload}`, `${p.url}/sign`],
      {
        stdio: 'ignore',
      },
    );
    assert.equal(await exit(child), 0, 'the impostor got its signature');
    const program = seen[0]?.client.program;
    assert.equal(program?.name, 'git', 'the kernel keeps the name it was run by');
    const lines = requestLines(seen[0]!);
    assert.equal(
      lines.find((l) => l.label === 'Program')?.value,
      `git (pid ${child.pid}, exe /usr/bin/curl)` +
        program!.parents
          .slice(0, 3)
          .map((q) => ` ← ${q.name}`)
          .join(''),
    );
    assert.equal(lines.find((l) => l.label === 'Executable')?.value, '/usr/bin/curl');
  });

  it('git commit -S through the shim: git is in the chain, the commit in the prompt', async (t) => {
    const p = await proxyWith({});
    const seen = allowEach(p);
    const home = join(dir, 'git-home');
    const repo = join(home, 'repo');
    mkdirSync(repo, { recursive: true });
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      GIT_CONFIG_NOSYSTEM: '1',
      SSH_AGENT_PROXY_URL: `${p.url}/sign`,
    };
    const git = (...args: string[]) => run('git', args, { env, cwd: repo });
    await git('init', '-q', '-b', 'main');
    for (const [k, v] of sshSigningConfig(SHIM, key.pub)) await git('config', k, v);
    writeFileSync(join(repo, 'f'), 'hello\n');
    await git('add', 'f');
    const c = await git('commit', '-S', '-q', '-m', 'Fix login race');
    assert.equal(c.code, 0, c.stderr);
    const commit = seen.find((r) => r.description.kind === 'commit');
    assert.ok(commit, 'the commit was put to the person');
    const program = commit.client.program;
    assert.ok(program, 'the prompt names the program');
    // The shim (or the curl it runs) was started by git, started by this test.
    t.diagnostic(describePeer(program));
    const chain = [program, ...program.parents];
    const gitAt = chain.findIndex((q) => q.name === 'git');
    assert.ok(gitAt >= 0, `git in ${describePeer(program)}`);
    assert.ok(chain.slice(gitAt).some((q) => q.pid === process.pid));
  });

  it('a program named to draw on the screen is shown as plain text', async () => {
    const p = await proxyWith({});
    const seen = allowEach(p);
    // Linux keeps 15 bytes of the file name as the process name: ESC and CR among them.
    const hostile = join(dir, 'x\u001b[2J\rok\u202e');
    copyFileSync('/usr/bin/curl', hostile);
    const child = postData(hostile, p.url, 'payload2');
    assert.equal(await exit(child), 0);
    const program = seen[0]?.client.program;
    assert.ok(
      program?.name.includes('\u001b'),
      'the kernel kept the raw name (the test has teeth)',
    );
    const shown = programLine(seen[0]!)?.value ?? '';
    assert.doesNotMatch(shown, UNSAFE_FOR_DISPLAY);
    assert.match(shown, /^x ?\[2J ?ok/);
    const rec = p.audit.find((a) => a.outcome === 'ok');
    assert.doesNotMatch(rec?.program ?? '', UNSAFE_FOR_DISPLAY);
    assert.ok(rec?.program);
  });

  it("the sandbox's own claim is shown apart, marked unverified, and recorded", async () => {
    const p = await proxyWith({});
    const seen = allowEach(p);
    const child = postData('curl', p.url, 'payload3', [
      '-H',
      'X-SSH-Agent-Proxy-Caller: git rebase -i main',
    ]);
    assert.equal(await exit(child), 0);
    const lines = requestLines(seen[0]!);
    const said = lines.find((l) => l.label === 'Sandbox says');
    assert.ok(said, 'the claim is shown');
    assert.equal(said.value, 'git rebase -i main (its own claim, unverified)');
    // What the host saw is its own line, before the claim.
    const labels = lines.map((l) => l.label);
    assert.ok(
      labels.indexOf('Program') >= 0 && labels.indexOf('Program') < labels.indexOf('Sandbox says'),
    );
    const rec = p.audit.find((a) => a.outcome === 'ok');
    assert.equal(rec?.claim, 'git rebase -i main');
    assert.match(formatAudit(rec!), / {2}sandbox says: git rebase -i/);
  });
});
