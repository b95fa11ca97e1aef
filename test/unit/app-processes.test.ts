// The e2e suite's "no process left behind" check (test/e2e/app-processes.ts), on Linux with
// real processes: copies of `sleep` started from a temp "app folder" stand in for the app's
// main process and a helper binary of another name (as macOS's helpers are).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { appRoot, leftUnder, processesUnder, underRoot } from '../e2e/app-processes.js';
import { run, tempDir } from '../helpers/openssh.js';
import { needsLinux } from '../helpers/platform.js';

const started: ChildProcess[] = [];
after(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

async function until(cond: () => Promise<boolean>, what: string): Promise<void> {
  for (const end = Date.now() + 10_000; !(await cond());) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function startCopy(dir: string, name: string): ChildProcess {
  mkdirSync(dir, { recursive: true });
  const exe = join(dir, name);
  copyFileSync(realpathSync('/bin/sleep'), exe);
  chmodSync(exe, 0o755);
  const child = spawn(exe, ['300'], { stdio: 'ignore' });
  started.push(child);
  return child;
}

describe('processes of the app', () => {
  it("the app folder: the .app bundle on macOS, the executable's folder elsewhere", () => {
    assert.equal(
      appRoot(
        '/x/release-e2e/mac-arm64/SSH Agent Proxy.app/Contents/MacOS/SSH Agent Proxy',
        'darwin',
      ),
      '/x/release-e2e/mac-arm64/SSH Agent Proxy.app',
    );
    assert.equal(appRoot('/opt/SSH Agent Proxy/ssh-agent-proxy', 'linux'), '/opt/SSH Agent Proxy');
    // The release workflow joins the workspace and the app's path with a `/`.
    assert.equal(
      appRoot('D:\\a\\sap\\sap/release-e2e/win-unpacked/SSH Agent Proxy.exe', 'win32'),
      'D:\\a\\sap\\sap\\release-e2e\\win-unpacked',
    );
    assert.equal(
      appRoot('/repo/node_modules/electron/dist/electron', 'linux'),
      '/repo/node_modules/electron/dist',
    );
  });

  it('Windows paths: any case, either slash; a sibling folder with a longer name is not the app', () => {
    const all = [
      { pid: 1, path: 'D:\\a\\sap\\release-e2e\\win-unpacked\\SSH Agent Proxy.exe' },
      { pid: 2, path: 'd:\\A\\SAP\\release-e2e\\win-unpacked\\crashpad_handler.exe' },
      { pid: 3, path: 'D:\\a\\sap\\release-e2e\\win-unpacked2\\SSH Agent Proxy.exe' },
      { pid: 4, path: 'C:\\Windows\\explorer.exe' },
    ];
    const root = appRoot('D:\\a\\sap/release-e2e/win-unpacked/SSH Agent Proxy.exe', 'win32');
    assert.deepEqual(
      underRoot(all, root, 'win32').map((p) => p.pid),
      [1, 2],
    );
    // POSIX paths are case-sensitive.
    assert.deepEqual(
      underRoot([{ pid: 5, path: '/OPT/SSH Agent Proxy/x' }], '/opt/SSH Agent Proxy', 'linux'),
      [],
    );
  });

  it(
    'finds every process run from the app folder, whatever its name, and none from a sibling folder',
    { skip: needsLinux('/proc/<pid>/exe') },
    async () => {
      const base = realpathSync(tempDir('sap-app-procs-'));
      const root = join(base, 'SSH Agent Proxy');
      const main = startCopy(root, 'ssh-agent-proxy');
      const helper = startCopy(join(root, 'Helpers'), 'SSH Agent Proxy Helper (GPU)');
      const other = startCopy(`${root} 2`, 'ssh-agent-proxy');
      const pids = async () => (await processesUnder(root, 'linux')).map((p) => p.pid).sort();
      const want = [main.pid!, helper.pid!].sort();
      await until(async () => JSON.stringify(await pids()) === JSON.stringify(want), 'both seen');
      assert.ok(!(await pids()).includes(other.pid!), 'a sibling folder is not the app');
      // The old check, the main executable's path in a command line, misses the helper.
      const pgrep = await run('pgrep', ['-f', join(root, 'ssh-agent-proxy')]);
      assert.ok(!pgrep.stdout.split('\n').includes(String(helper.pid)));

      // Waits for the last one to end, bounded.
      const waiting = leftUnder(root, 30_000, 'linux');
      main.kill('SIGKILL');
      helper.kill('SIGKILL');
      assert.deepEqual(await waiting, []);
      // And reports what is still there when the bound passes.
      const still = startCopy(root, 'crashpad');
      await until(async () => (await pids()).includes(still.pid!), 'the third seen');
      const left = await leftUnder(root, 0, 'linux');
      assert.deepEqual(
        left.map((p) => p.pid),
        [still.pid],
      );
      assert.equal(left[0]!.path, join(root, 'crashpad'));
    },
  );
});
