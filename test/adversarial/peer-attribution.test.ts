// What the Program line lets a same-user process pretend (review 2, issue #19). The threat
// model says a process can choose its name, but not its executable (/proc/PID/exe is "the
// file the kernel actually mapped"), its start time (a reused pid is not taken for it), or
// a root-made cgroup. So:
//  1. the prompt shows the executable, and the one line flags a name that is not the
//     executable's: a binary copied to /tmp/x/git no longer reads as a real git does;
//  2. the audit record keeps the executable and the start time;
//  3. a cgroup the user made (systemd-run --user --scope --unit=docker-<64 hex>.scope puts a
//     host process in …/user@1000.service/app.slice/docker-<id>.scope) or any cgroup
//     directory not owned by root is shown as unverified, never as "in docker container …".
import assert from 'node:assert/strict';
import { chownSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { describe as describePayload } from '../../src/core/approval/describe.js';
import { requestLines } from '../../src/core/approval/request-view.js';
import { requestSummary } from '../../src/core/approval/request-summary.js';
import {
  containerCgroupFrom,
  containerFromCgroup,
  verifiedContainer,
} from '../../src/core/peer/cgroup-container.js';
import { describePeer, peerRecord, type PeerProcess } from '../../src/core/peer/peer-process.js';
import { commitObject, pendingFor } from '../helpers/fixtures.js';

const impostor: PeerProcess = {
  pid: 4242,
  name: 'git',
  startTime: '987654',
  exe: '/tmp/.cache/x/git',
  cwd: '/home/ana/project',
  parents: [{ pid: 4200, name: 'bash', startTime: '987000' }],
};
const renamed: PeerProcess = { ...impostor, exe: '/tmp/.cache/x/evil' };
const ID = 'ab'.repeat(32);

function withProgram(program: PeerProcess) {
  const req = pendingFor(describePayload(commitObject('Fix login race')));
  req.client = { ...req.client, program };
  return req;
}

describe('the Program line', () => {
  it('the terminal prompt names the executable the kernel mapped', () => {
    const shown = requestLines(withProgram(impostor))
      .map((l) => `${l.label}: ${l.value}`)
      .join('\n');
    assert.match(shown, /^Executable: \/tmp\/\.cache\/x\/git$/m, `the prompt shows:\n${shown}`);
  });

  it('the window’s details name the program and its executable', () => {
    const details = requestSummary(withProgram(impostor)).details;
    const get = (label: string) => details.find((l) => l.label === label)?.value;
    assert.equal(get('Program'), 'git (pid 4242) ← bash');
    assert.equal(get('Executable'), '/tmp/.cache/x/git');
    assert.equal(get('Directory'), '/home/ana/project');
  });

  it('flags a name that is not its executable’s, and only then', () => {
    assert.equal(describePeer(renamed), 'git (pid 4242, exe /tmp/.cache/x/evil) ← bash');
    assert.equal(describePeer(impostor), 'git (pid 4242) ← bash');
    // Linux keeps 15 bytes of a name: a long executable's cut name is its own.
    const long = { ...impostor, name: 'ssh-agent-proxy', exe: '/usr/bin/ssh-agent-proxy-sign' };
    assert.equal(describePeer(long), 'ssh-agent-proxy (pid 4242) ← bash');
    // A deleted (replaced) executable keeps its name; a Windows path reads alike.
    assert.equal(
      describePeer({ ...impostor, exe: '/usr/bin/git (deleted)' }).includes('exe'),
      false,
    );
    const win = { ...impostor, name: 'git.exe', exe: 'C:\\Program Files\\Git\\cmd\\git.exe' };
    assert.equal(describePeer(win), 'git.exe (pid 4242) ← bash');
  });

  it('records the executable and the start time in the audit record’s program', () => {
    // proxy.ts records `program: peerRecord(client.program)`.
    const recorded = peerRecord(impostor);
    assert.equal(recorded, 'git (pid 4242) ← bash; exe /tmp/.cache/x/git; started 987654');
  });
});

describe('the container, from a cgroup', () => {
  const dirs = mkdtempSync(join(tmpdir(), 'sap-cgroup-'));
  after(() => rmSync(dirs, { recursive: true, force: true }));

  it('does not present a cgroup under the user’s systemd (systemd-run --user) as a container', () => {
    const userMade = `0::/user.slice/user-1000.slice/user@1000.service/app.slice/docker-${ID}.scope\n`;
    const c = containerFromCgroup(userMade);
    assert.equal(c?.unverified, true);
    const line = describePeer({ ...impostor, container: c });
    assert.doesNotMatch(line, / in docker container /, `shown: ${line}`);
    assert.match(line, /unverified/);
  });

  it('verifies a container only by a root-owned cgroup directory', (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to make a root- and a user-owned dir');
    const rootOwned = join(dirs, 'system');
    const userOwned = join(dirs, 'user');
    mkdirSync(rootOwned);
    mkdirSync(userOwned);
    chownSync(userOwned, 65534, 65534);
    const found = containerCgroupFrom(`0::/system.slice/docker-${ID}.scope\n`)!;
    assert.equal(found.dir, `/sys/fs/cgroup/system.slice/docker-${ID}.scope`);
    assert.equal(verifiedContainer({ ...found, dir: rootOwned }).unverified, undefined);
    assert.equal(verifiedContainer({ ...found, dir: userOwned }).unverified, true);
    assert.equal(verifiedContainer({ ...found, dir: join(dirs, 'gone') }).unverified, true);
    // Under the user's manager it stays unverified whoever owns the directory.
    const delegated = containerCgroupFrom(
      `0::/user.slice/user-1000.slice/user@1000.service/app.slice/docker-${ID}.scope\n`,
    )!;
    assert.equal(verifiedContainer({ ...delegated, dir: rootOwned }).unverified, true);
  });

  it('finds a cgroup v1 container’s directory under its hierarchy', () => {
    assert.equal(
      containerCgroupFrom(`12:pids:/docker/${ID}/inner\n`)?.dir,
      `/sys/fs/cgroup/pids/docker/${ID}`,
    );
    assert.equal(
      containerCgroupFrom(`1:name=systemd:/docker/${ID}\n`)?.dir,
      `/sys/fs/cgroup/systemd/docker/${ID}`,
    );
  });
});
