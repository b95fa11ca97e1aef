// Electron entry. `--console`, `token …`, `audit …`, `--help` and `--version` run the same
// CLI as plain Node; anything else starts the tray app (one instance per user).
import {
  app,
  BrowserWindow,
  clipboard,
  dialog,
  ipcMain,
  Menu,
  nativeImage,
  Notification,
  powerMonitor,
  screen,
  session,
  shell,
  Tray,
} from 'electron';
import { join } from 'node:path';
import { runCli } from '../cli/cli.js';
import { startConfiguredProxy } from '../cli/start.js';
import { loadConfig } from '../core/config/config.js';
import { applyAppIdentity } from './app-identity.js';
import { openWindowOnReopen } from './app-reopen.js';
import { cliArgs, isCliInvocation } from './launch-mode.js';
import { loginItem } from './login-item.js';
import { mainLogger } from './main-log.js';
import { x11Relaunch } from './ozone-platform.js';
import { startOrFail, type StartupFailure } from './startup.js';
import { startTrayApp } from './tray-app.js';

const args = cliArgs(process.argv, Boolean(process.defaultApp));

// app.exit releases the single-instance lock, so the person can simply start it again.
function fail(f: StartupFailure): void {
  dialog.showErrorBox(f.title, f.message);
  app.exit(f.code);
}

async function startTray(): Promise<void> {
  app.dock?.hide(); // macOS: menu bar only (LSUIElement in the packaged app)
  const config = loadConfig({ env: process.env });
  const log = mainLogger(config.configDir, config.logLevel);
  // Plain Node raises the open-files soft limit to the hard one at start; Electron's main
  // process does not, so do it here before the connection caps are sized under it.
  if (process.platform === 'darwin' || process.platform === 'linux') process.setFdLimit(65_536);
  let controlOff: string | undefined;
  const proxy = await startConfiguredProxy(config, log, undefined, (why) => (controlOff = why));
  log.info(`tray app listening on ${proxy.url()}; agent ${config.agent?.path ?? 'none found'}`);
  const tray = startTrayApp({
    electron: {
      app,
      BrowserWindow,
      Tray,
      Menu,
      nativeImage,
      Notification,
      powerMonitor,
      screen,
      shell,
      clipboard,
      ipcMain,
      session,
    },
    proxy,
    config,
    log,
    loginItem: loginItem(app, log),
    controlOff,
    distDir: join(__dirname, '..'),
    assetsDir: join(app.getAppPath(), 'assets'),
  });

  openWindowOnReopen(app, () => tray.openActivity('activity'), process.platform);
  let stopped = false;
  app.on('before-quit', (ev) => {
    if (stopped) return;
    ev.preventDefault();
    log.info('quitting: pending approvals are denied, in-flight requests finish');
    void tray.quit().then(() => {
      stopped = true;
      app.quit();
    });
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => app.quit());
}

if (isCliInvocation(args)) {
  app.dock?.hide();
  runCli(args).then(
    (code) => app.exit(code),
    (err: unknown) => {
      process.stderr.write(`ssh-agent-proxy: ${(err as Error).stack ?? String(err)}\n`);
      app.exit(1);
    },
  );
} else if (x11Relaunch(process.argv, process.env, process.platform)) {
  // Linux under XWayland: start again as an X11 client (see ozone-platform.ts), before
  // taking the single-instance lock so the new process can have it.
  app.relaunch(x11Relaunch(process.argv, process.env, process.platform)!);
  app.exit(0);
} else if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  applyAppIdentity(app, process.platform);
  // A tray app keeps running with no window open.
  app.on('window-all-closed', () => {});
  void startOrFail(
    () => app.whenReady().then(startTray),
    fail,
    (line) => process.stderr.write(`ssh-agent-proxy: ${line}\n`),
  );
}
