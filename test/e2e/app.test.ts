// End to end: the real app (Electron's binary on this checkout, or the packaged app when
// E2E_APP is set) driven through Playwright's Electron driver, with a temporary config
// folder, against a real ssh-agent, signing through curl and verifying with ssh-keygen.
// Run by `npm run test:e2e` (scripts/run-e2e.mjs), never by `npm test`: it needs Electron's
// binary and a display (xvfb-run on Linux CI). Written on a machine that has neither: it has
// not run yet where Electron exists.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, win32 } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { APP_USER_MODEL_ID } from '../../src/main/app-identity.js';
import { x11Relaunch } from '../../src/main/ozone-platform.js';
import { agentWithKey, commitObject, type AgentWithKey } from '../helpers/fixtures.js';
import { run, tempDir, waitFor } from '../helpers/openssh.js';
import { ROOT } from '../helpers/proxy.js';
import { appRoot, leftUnder } from './app-processes.js';

const EXECUTABLE = process.env.E2E_EXECUTABLE ?? '';
const PACKAGED = process.env.E2E_PACKAGED === '1';
const SHOTS = join(ROOT, 'test-output', 'e2e');
const RUN_KEY = 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run';

let fx: AgentWithKey;
let app: ElectronApplication;
let configDir: string;
let xdgConfig: string;
let url: string;
let work: string;
let launchEnv: Record<string, string>;
let launchArgs: string[];

function mainLog(): string {
  const p = join(configDir, 'logs', 'main.log');
  return existsSync(p) ? readFileSync(p, 'utf8') : '';
}

/** POST a commit to /sign with curl; the signature lands in `${name}.sig`. */
async function sign(name: string, subject: string) {
  const msg = commitObject(subject);
  writeFileSync(join(work, name), msg);
  const r = await run('curl', [
    '-sS',
    '-o',
    join(work, `${name}.sig`),
    '-w',
    '%{http_code}',
    '--data-binary',
    `@${join(work, name)}`,
    `${url}/sign`,
  ]);
  return { status: Number(r.stdout), msg, sigFile: join(work, `${name}.sig`) };
}

async function verifies(msg: Buffer, sigFile: string): Promise<boolean> {
  writeFileSync(join(work, 'allowed'), `ana@test ${fx.key.line}\n`);
  const v = await run(
    'ssh-keygen',
    ['-Y', 'verify', '-f', join(work, 'allowed'), '-I', 'ana@test', '-n', 'git', '-s', sigFile],
    { input: msg },
  );
  return v.code === 0;
}

/** The approval window's page, once main says it is visible. */
async function visibleApproval(): Promise<Page> {
  const end = Date.now() + 15_000;
  for (;;) {
    const shown = await app.evaluate(({ BrowserWindow }) =>
      BrowserWindow.getAllWindows().some(
        (w) => w.isVisible() && w.webContents.getURL().includes('approval.html'),
      ),
    );
    if (shown) break;
    if (Date.now() > end) throw new Error('the approval window never became visible');
    await new Promise((r) => setTimeout(r, 50));
  }
  const page = app.windows().find((p) => p.url().includes('approval.html'));
  assert.ok(page, 'Playwright sees the approval page');
  return page;
}

before(async () => {
  assert.ok(EXECUTABLE, 'run through `npm run test:e2e`, which finds the app');
  fx = await agentWithKey();
  work = tempDir('sap-e2e-');
  configDir = join(work, 'cfg');
  xdgConfig = join(work, 'xdg');
  mkdirSync(SHOTS, { recursive: true });
  launchEnv = {
    ...(process.env as Record<string, string>),
    SSH_AGENT_PROXY_CONFIG_DIR: configDir,
    SSH_AGENT_PROXY_UPSTREAM: fx.agent.sock,
    SSH_AGENT_PROXY_ADDR: '127.0.0.1:0',
    SSH_AGENT_PROXY_APPROVAL: 'prompt',
    // Linux: the autostart entry goes here, not into the runner's own ~/.config.
    XDG_CONFIG_HOME: xdgConfig,
  };
  // A checkout runs as `electron <root>`; the packaged app needs no argument. On a Wayland
  // desktop the app would relaunch itself as an X11 client (ozone-platform.ts), leaving
  // Playwright attached to the process that exited: give it that choice up front, and the
  // app, seeing --ozone-platform, starts as it is.
  const args = PACKAGED ? [] : [ROOT];
  launchArgs = x11Relaunch([EXECUTABLE, ...args], launchEnv, process.platform)?.args ?? args;
  app = await _electron.launch({
    executablePath: EXECUTABLE,
    args: launchArgs,
    env: launchEnv,
    // Playwright adds --no-sandbox on Linux unless told: run as people run it, sandbox on.
    chromiumSandbox: true,
  });
  await waitFor(
    () => /tray icon created/.test(mainLog()),
    30_000,
    'the tray (main.log: "tray icon created")',
  );
  url = /tray app listening on (http:\/\/\S+);/.exec(mainLog())![1]!;
});

after(async () => {
  if (app && app.process().exitCode === null) app.process().kill('SIGKILL');
});

describe('the app, launched', () => {
  it('a request opens the approval window; Allow once signs, and ssh-keygen verifies', async () => {
    const pending = sign('one', 'E2E allow once');
    const page = await visibleApproval();
    await page.locator('#headline').filter({ hasText: 'E2E allow once' }).waitFor();
    await page.screenshot({ path: join(SHOTS, `approval-${process.platform}.png`) });
    await page.click('#allow-once'); // Playwright waits out the buttons' arming delay
    const r = await pending;
    assert.equal(r.status, 200);
    assert.equal(await verifies(r.msg, r.sigFile), true);
    assert.equal(await verifies(Buffer.concat([r.msg, Buffer.from('x')]), r.sigFile), false);
  });

  it('Deny answers 403', async () => {
    const pending = sign('two', 'E2E deny');
    const page = await visibleApproval();
    await page.locator('#headline').filter({ hasText: 'E2E deny' }).waitFor();
    await page.click('#deny');
    assert.equal((await pending).status, 403);
  });

  it('Allow for 10 minutes: the next request from the same client is signed without a prompt', async () => {
    const pending = sign('three', 'E2E grant');
    const page = await visibleApproval();
    await page.locator('#headline').filter({ hasText: 'E2E grant' }).waitFor();
    await page.click('#allow-grant');
    assert.equal((await pending).status, 200);
    const again = await sign('four', 'E2E under the grant');
    assert.equal(again.status, 200, 'answered by the grant');
    assert.equal(await verifies(again.msg, again.sigFile), true);
  });

  it('starting it again opens the window; Settings toggles start at login, and the OS really changes', async () => {
    const windowOpened = app.waitForEvent('window');
    // The real second start: it loses the single-instance lock and hands over.
    const second = spawn(EXECUTABLE, launchArgs, { env: launchEnv, stdio: 'ignore' });
    const secondExit = new Promise<number | null>((r) => second.on('exit', (c) => r(c)));
    const page = await windowOpened;
    assert.equal(await secondExit, 0, 'the second start exits');
    await page.click('#tab-settings');
    const box = page.locator('#s-startAtLogin');
    await box.waitFor();
    assert.equal(await box.isChecked(), false);
    await box.check();
    await page
      .locator('#settings-form')
      .evaluate((f) => (f as unknown as { requestSubmit(): void }).requestSubmit());
    await page.locator('#settings-result').filter({ hasText: /Saved/ }).waitFor();
    await page.screenshot({ path: join(SHOTS, `settings-${process.platform}.png`) });
    // What the OS holds, read without the app: the autostart entry, the HKCU Run value
    // (`reg`, not Electron, whose own reading is what went wrong before), SMAppService.
    const osState = async () => {
      if (process.platform === 'linux')
        return existsSync(join(xdgConfig, 'autostart', 'ssh-agent-proxy.desktop'));
      if (process.platform === 'win32') {
        const q = await run('reg', ['query', RUN_KEY, '/v', APP_USER_MODEL_ID]);
        const exe = win32.normalize(EXECUTABLE).toLowerCase();
        return q.code === 0 && q.stdout.toLowerCase().includes(exe);
      }
      return app.evaluate(({ app: a }) => a.getLoginItemSettings().openAtLogin);
    };
    // Only the installed app registers itself; a checkout must leave the OS alone.
    assert.equal(await osState(), PACKAGED);
    assert.equal(await box.isChecked(), PACKAGED, 'the window shows what the OS has');
    if (PACKAGED) {
      await box.uncheck();
      await page
        .locator('#settings-form')
        .evaluate((f) => (f as unknown as { requestSubmit(): void }).requestSubmit());
      const end = Date.now() + 10_000;
      while ((await osState()) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      assert.equal(await osState(), false, 'turned off again: the runner is left as found');
    }
  });

  it('Quit leaves no process behind', async () => {
    const pid = app.process().pid!;
    const closed = new Promise<void>((r) => app.process().once('exit', () => r()));
    // What the tray menu's Quit does; the connection may drop as the app goes away.
    await app.evaluate(({ app: a }) => a.quit()).catch(() => {});
    await closed;
    assert.throws(() => process.kill(pid, 0), 'the main process is gone');
    // Chromium's helpers (GPU, renderers, utility, crashpad) run from the app's own folder
    // and may end a moment after main: wait, with a bound, for the last of them.
    const left = await leftUnder(appRoot(EXECUTABLE, process.platform), 15_000);
    assert.deepEqual(left, [], `left behind: ${JSON.stringify(left)}`);
  });
});
