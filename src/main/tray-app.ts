// The tray app: adapts Electron's Tray, windows, notifications, power monitor and IPC to
// the core. It decides nothing; the broker, the token store and the config do.
import type * as Electron from 'electron';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { checkAgentAtStart } from '../core/agent/agent-startup-check.js';
import type { Config } from '../core/config/config.js';
import type { Logger } from '../core/logger.js';
import type { RunningProxy } from '../core/proxy.js';
import { AgentStatus } from './agent-status.js';
import { feedEvents, type Send } from './event-feed.js';
import { createHandlers } from './ipc-handlers.js';
import { registerIpc } from './ipc-main.js';
import { LiveNotifications } from './live-notifications.js';
import type { LoginItem } from './login-item.js';
import { menuModel, type MenuAction, type MenuItemModel } from './menu-model.js';
import { trayIconPath, trayState, trayTooltip } from './tray-state.js';
import { queueView } from './view-models.js';
import {
  createActivityWindow,
  createApprovalWindow,
  fitApprovalWindow,
  placeApprovalWindow,
  type WindowDeps,
} from './windows.js';
import { WindowPrompter } from './window-prompter.js';

export interface TrayAppDeps {
  electron: Pick<
    typeof Electron,
    | 'app'
    | 'BrowserWindow'
    | 'Tray'
    | 'Menu'
    | 'nativeImage'
    | 'Notification'
    | 'powerMonitor'
    | 'screen'
    | 'shell'
    | 'clipboard'
    | 'ipcMain'
    | 'session'
  >;
  proxy: RunningProxy;
  config: Config;
  log: Logger;
  loginItem: LoginItem;
  distDir: string;
  assetsDir: string;
  /** The OS whose behaviour to follow; process.platform unless a test says otherwise. */
  platform?: NodeJS.Platform;
  /** Why `ssh-agent-proxy grants/pause/resume` cannot reach this proxy, if they cannot. */
  controlOff?: string;
}

export function startTrayApp(d: TrayAppDeps): {
  openActivity(tab: string): void;
  quit(): Promise<void>;
} {
  const { electron: e, proxy, log } = d;
  const { app, BrowserWindow } = e;
  const platform = d.platform ?? process.platform;
  const wd: WindowDeps = {
    BrowserWindow,
    screen: e.screen,
    distDir: d.distDir,
    isPackaged: app.isPackaged,
    platform,
  };
  let quitting = false;

  // Nothing in these windows may ask for permissions or open anything else.
  e.session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) =>
    callback(false),
  );
  e.session.defaultSession.setPermissionCheckHandler(() => false);
  app.on('web-contents-created', (_ev, wc) => {
    wc.setWindowOpenHandler(() => ({ action: 'deny' }));
    wc.on('will-attach-webview', (ev) => ev.preventDefault());
  });

  const status = new AgentStatus(proxy);
  status.start();
  // 'lock-screen'/'unlock-screen' exist on macOS and Windows only, and say nothing about a
  // screen locked before the app started; so each request also asks for the idle state,
  // which says 'locked' where Chromium can tell. On Linux Chromium asks the desktop's D-Bus
  // ScreenSaver service (GNOME, KDE, Cinnamon, MATE, Xfce), else an X11 screen saver; its
  // D-Bus watcher starts on the first query and answers later, so query once now.
  let screenLocked = false;
  e.powerMonitor.on('lock-screen', () => (screenLocked = true));
  e.powerMonitor.on('unlock-screen', () => (screenLocked = false));
  const isScreenLocked = () => screenLocked || e.powerMonitor.getSystemIdleState(1) === 'locked';
  isScreenLocked();
  const notifications = new LiveNotifications(log);

  // Whether signing can work, said once at start: logged, and a notification naming the fix
  // when it cannot (the tray icon and menu keep showing the agent's state after that).
  void checkAgentAtStart(d.config).then((c) => {
    if (c.state === 'ok') return log.info(c.message);
    log.warn(c.message);
    if (e.Notification.isSupported())
      notifications.show(
        new e.Notification({ title: 'SSH Agent Proxy: signing cannot work yet', body: c.fix }),
        () => openActivity('settings'),
      );
  });

  // Said plainly, not only logged: `ssh-agent-proxy pause` would act on another proxy.
  if (d.controlOff && e.Notification.isSupported())
    notifications.show(
      new e.Notification({ title: 'SSH Agent Proxy: control channel off', body: d.controlOff }),
      () => openActivity('activity'),
    );

  const approval = createApprovalWindow(wd);
  // Closing the window answers nothing: the requests stay pending in the tray menu.
  approval.on('close', (ev) => {
    if (!quitting) {
      ev.preventDefault();
      approval.hide();
    }
  });
  let activity: Electron.BrowserWindow | null = null;
  const openActivity = (tab: string) => {
    if (activity && !activity.isDestroyed()) {
      activity.show();
      activity.focus();
      return;
    }
    activity = createActivityWindow(wd, tab);
    activity.on('closed', () => (activity = null));
  };

  const tray = new e.Tray(
    e.nativeImage.createFromPath(trayIconPath(d.assetsDir, 'idle', platform)),
  );
  log.info('tray icon created'); // the e2e suite waits for this line
  const trayBounds = () => {
    if (platform === 'linux') return null; // not available there
    const b = tray.getBounds();
    return b.width > 0 ? b : null;
  };
  const showApproval = () => {
    placeApprovalWindow(approval, trayBounds(), wd);
    // showInactive: do not take the keyboard from what the person is typing (macOS, Windows;
    // Wayland ignores it, and the window's arming delay still guards against stray keys).
    approval.showInactive();
    approval.moveTop();
  };

  proxy.broker.attach(
    new WindowPrompter({
      broker: proxy.broker,
      surface: {
        isVisible: () => approval.isVisible(),
        show: showApproval,
        hide: () => approval.hide(),
        notify: (title, body) => {
          if (!e.Notification.isSupported()) return;
          notifications.show(new e.Notification({ title, body, silent: false }), showApproval);
        },
      },
      denyWhenLocked: () => proxy.config.denyWhenLocked,
      screenLocked: isScreenLocked,
    }),
  );

  // Start at login, from the menu or the settings window: the menu is then rebuilt, so its
  // checkbox shows what the OS now has (nothing, in a dev checkout).
  const login: LoginItem = {
    get: () => d.loginItem.get(),
    set: (on) => {
      d.loginItem.set(on);
      refreshTray();
    },
  };
  const send: Send = (channel, payload) => {
    for (const w of BrowserWindow.getAllWindows())
      if (!w.isDestroyed()) w.webContents.send(channel, payload);
  };
  const stopFeed = feedEvents(proxy, status, send);
  const handlers = createHandlers({
    proxy,
    platform: { platform, env: process.env, home: homedir(), uid: process.getuid?.() },
    status,
    loginItem: login,
    clipboard: (text) => e.clipboard.writeText(text),
    closeWindow: (id) =>
      BrowserWindow.getAllWindows()
        .find((w) => w.webContents.id === id)
        ?.hide(),
    fitWindow: (id, height) => {
      if (id === approval.webContents.id) fitApprovalWindow(approval, height, trayBounds(), wd);
    },
    openLogs: () => void e.shell.openPath(join(d.config.configDir, 'logs')),
  });
  const unregister = registerIpc(
    e.ipcMain,
    handlers,
    {
      isOwnWindow: (id) => BrowserWindow.getAllWindows().some((w) => w.webContents.id === id),
      pagesDir: join(d.distDir, 'renderer'),
      platform,
    },
    log,
  );

  const actions: Record<MenuAction, () => void> = {
    'show-approval': showApproval,
    'open-activity': () => openActivity('activity'),
    'toggle-pause': () => proxy.broker.setPaused(!proxy.broker.paused),
    'toggle-login': () => login.set(!login.get()),
    'open-settings': () => openActivity('settings'),
    'open-logs': () => void e.shell.openPath(join(d.config.configDir, 'logs')),
    quit: () => app.quit(),
  };
  const toTemplate = (m: MenuItemModel): Electron.MenuItemConstructorOptions => {
    if (m.type === 'separator') return { type: 'separator' };
    if (m.type === 'checkbox')
      return { type: 'checkbox', label: m.label, checked: m.checked, click: actions[m.action] };
    return {
      label: m.label,
      enabled: m.enabled,
      ...(m.action ? { click: actions[m.action] } : {}),
    };
  };
  const refreshTray = () => {
    const view = status.view();
    const state = trayState(view);
    tray.setImage(e.nativeImage.createFromPath(trayIconPath(d.assetsDir, state, platform)));
    tray.setToolTip(trayTooltip(state, view));
    const model = menuModel({
      status: view,
      prompts: queueView(proxy.broker).prompts,
      startAtLogin: login.get(),
    });
    tray.setContextMenu(e.Menu.buildFromTemplate(model.map(toTemplate)));
  };
  refreshTray();
  proxy.broker.onChange(refreshTray);
  status.onChange(refreshTray);
  proxy.onAuditStatus(refreshTray);
  // Windows (and Linux trays that report clicks): a click on the icon shows what needs the
  // person, else the activity. Not on macOS: there a click on a menu-bar icon with a menu
  // opens the menu and also fires `click`, so every look at the menu would open a window.
  if (platform !== 'darwin')
    tray.on('click', () =>
      proxy.broker.queue().length ? showApproval() : openActivity('activity'),
    );

  return {
    openActivity,
    async quit() {
      quitting = true;
      status.stop();
      stopFeed();
      unregister();
      await proxy.close(3_000);
      tray.destroy();
    },
  };
}
