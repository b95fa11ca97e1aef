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
import { ConfigError, loadConfig } from '../core/config.js';
import { ListenError } from '../core/listener.js';
import { cliArgs, isCliInvocation } from './launch-mode.js';
import { loginItem } from './login-item.js';
import { mainLogger } from './main-log.js';
import { startTrayApp } from './tray-app.js';

const args = cliArgs(process.argv, Boolean(process.defaultApp));

function fail(title: string, message: string, code: number): void {
  dialog.showErrorBox(title, message);
  app.exit(code);
}

async function startTray(): Promise<void> {
  app.dock?.hide(); // macOS: menu bar only (LSUIElement in the packaged app)
  let config;
  try {
    config = loadConfig({ env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) return fail('SSH Agent Proxy: invalid setting', err.message, 2);
    throw err;
  }
  const log = mainLogger(config.configDir, config.logLevel);
  let proxy;
  try {
    proxy = await startConfiguredProxy(config, log);
  } catch (err) {
    if (err instanceof ConfigError) return fail('SSH Agent Proxy: invalid setting', err.message, 2);
    if (err instanceof ListenError) return fail('SSH Agent Proxy cannot start', err.message, 1);
    throw err;
  }
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
    loginItem: loginItem(app),
    distDir: join(__dirname, '..'),
    assetsDir: join(app.getAppPath(), 'assets'),
  });

  // Starting the app again opens its window instead of a second proxy.
  app.on('second-instance', () => tray.openActivity('activity'));
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
} else if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  // A tray app keeps running with no window open.
  app.on('window-all-closed', () => {});
  void app.whenReady().then(startTray);
}
