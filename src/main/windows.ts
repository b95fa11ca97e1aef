// The app's two windows, locked down per Electron's security checklist: context isolation,
// sandbox, no Node, a preload as the only bridge, no navigation, no new windows, no
// permissions, pages only from the app's own files (each page also carries a strict CSP).
import type {
  BrowserWindow as BrowserWindowType,
  BrowserWindowConstructorOptions,
  Rectangle,
  Screen,
} from 'electron';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isFileUrlOf } from './file-url.js';
import {
  ACTIVITY_SIZE,
  APPROVAL_SIZE,
  approvalContentHeight,
  approvalWindowPosition,
  type Rect,
} from './window-geometry.js';

export interface WindowDeps {
  BrowserWindow: typeof BrowserWindowType;
  screen: Pick<Screen, 'getCursorScreenPoint' | 'getDisplayNearestPoint'>;
  distDir: string;
  isPackaged: boolean;
  platform: NodeJS.Platform;
}

export function rendererUrl(distDir: string, page: string): string {
  return pathToFileURL(join(distDir, 'renderer', page)).href;
}

function secure(d: WindowDeps): BrowserWindowConstructorOptions['webPreferences'] {
  return {
    preload: join(d.distDir, 'preload', 'preload.js'),
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
    devTools: !d.isPackaged,
  };
}

/** Navigation and window.open are never wanted in these windows. */
function lockNavigation(win: BrowserWindowType, page: string, platform: NodeJS.Platform): void {
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  // Only the page itself (a reload, another query): compared as paths, see file-url.ts.
  win.webContents.on('will-navigate', (e, url) => {
    if (!isFileUrlOf(url, page, platform)) e.preventDefault();
  });
  win.webContents.on('will-redirect', (e) => e.preventDefault());
}

export function createApprovalWindow(d: WindowDeps): BrowserWindowType {
  const win = new d.BrowserWindow({
    ...APPROVAL_SIZE,
    // The size is the page's: fitApprovalWindow sets it from what the page measures.
    useContentSize: true,
    show: false,
    frame: true,
    resizable: false,
    minimizable: false,
    maximizable: false,
    fullscreenable: false,
    skipTaskbar: true,
    alwaysOnTop: true,
    title: 'Approve — SSH Agent Proxy',
    // macOS: a click on the window while it is inactive (it is shown without focus) only
    // activates it and never reaches a button, so a click aimed at what was under it cannot
    // approve. The default, said here because it is a decision.
    acceptFirstMouse: false,
    // macOS: a panel floats over full-screen apps and on every Space without activating the app.
    ...(d.platform === 'darwin' ? { type: 'panel' } : {}),
    webPreferences: secure(d),
  });
  win.setAlwaysOnTop(true, 'pop-up-menu');
  // skipTransformProcessType: the app is already a UIElement (menu bar only); without it
  // macOS briefly hides the window and turns the app into a Dock app on each call.
  win.setVisibleOnAllWorkspaces(true, {
    visibleOnFullScreen: true,
    skipTransformProcessType: true,
  });
  win.setMenuBarVisibility(false);
  const url = rendererUrl(d.distDir, 'approval.html');
  lockNavigation(win, join(d.distDir, 'renderer', 'approval.html'), d.platform);
  void win.loadURL(url);
  return win;
}

type ApprovalWindowLike = Pick<
  BrowserWindowType,
  'getSize' | 'getContentSize' | 'setContentSize' | 'setPosition' | 'isVisible'
>;

function workAreaFor(trayBounds: Rectangle | null, d: WindowDeps): Rect {
  return d.screen.getDisplayNearestPoint(
    trayBounds && trayBounds.width > 0
      ? { x: trayBounds.x, y: trayBounds.y }
      : d.screen.getCursorScreenPoint(),
  ).workArea;
}

/** Place near the tray when the OS says where it is, else centred where the person is. */
export function placeApprovalWindow(
  win: Pick<ApprovalWindowLike, 'getSize' | 'setPosition'>,
  trayBounds: Rectangle | null,
  d: WindowDeps,
): void {
  const [width = APPROVAL_SIZE.width, height = APPROVAL_SIZE.height] = win.getSize();
  const { x, y } = approvalWindowPosition(trayBounds, workAreaFor(trayBounds, d), {
    width,
    height,
  });
  win.setPosition(x, y);
}

/**
 * Size the approval window to its page's content: `contentHeight` CSS pixels as the page
 * measured it, bounded by approvalContentHeight. A visible window is placed again, so a
 * taller one still fits beside the tray. The person cannot resize it, but the app can:
 * on Windows and Linux Electron moves a non-resizable window's min/max size along with
 * its bounds (NativeWindowViews::SetBounds); macOS has no such limit.
 */
export function fitApprovalWindow(
  win: ApprovalWindowLike,
  contentHeight: number,
  trayBounds: Rectangle | null,
  d: WindowDeps,
): void {
  const height = approvalContentHeight(contentHeight, workAreaFor(trayBounds, d));
  const [, current] = win.getContentSize();
  if (current === height) return;
  win.setContentSize(APPROVAL_SIZE.width, height);
  if (win.isVisible()) placeApprovalWindow(win, trayBounds, d);
}

export function createActivityWindow(d: WindowDeps, tab: string): BrowserWindowType {
  const win = new d.BrowserWindow({
    ...ACTIVITY_SIZE,
    minWidth: 600,
    minHeight: 420,
    show: false,
    title: 'SSH Agent Proxy',
    webPreferences: secure(d),
  });
  win.setMenuBarVisibility(false);
  const url = `${rendererUrl(d.distDir, 'activity.html')}?tab=${encodeURIComponent(tab)}`;
  lockNavigation(win, join(d.distDir, 'renderer', 'activity.html'), d.platform);
  void win.loadURL(url);
  win.once('ready-to-show', () => win.show());
  return win;
}
