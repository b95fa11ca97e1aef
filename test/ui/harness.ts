// The renderer in a real headless Chromium, its preload API bound through Playwright to
// the very IPC handlers main uses, on a real core (real proxy, real ssh-agent).
import { createReadStream, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { homedir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { RunningProxy } from '../../src/core/proxy.js';
import { BRIDGE_KEY } from '../../src/ipc-contract.js';
import { AgentStatus } from '../../src/main/agent-status.js';
import { feedEvents } from '../../src/main/event-feed.js';
import { WindowPrompter } from '../../src/main/window-prompter.js';
import { createHandlers, type Handlers } from '../../src/main/ipc-handlers.js';
import { onCleanup, tempDir } from '../helpers/openssh.js';
import { ROOT } from '../helpers/proxy.js';

import { APPROVAL_SIZE, approvalContentHeight } from '../../src/main/window-geometry.js';

/** The work area the approval window is fitted into here: a 1440×900 screen under a menu bar. */
export const WORK_AREA = { x: 0, y: 25, width: 1440, height: 875 };
/** The time the page's clock starts at when a test holds it (screenshots, arming). */
export const PAGE_TIME = Date.UTC(2026, 0, 15, 9, 30);
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Headless, no network chatter: this machine reaches nothing but loopback. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const SHOTS = join(ROOT, 'test-output', 'screenshots');
const RENDERER = join(ROOT, 'dist', 'renderer');
const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.map': 'application/json',
};

/** Serve dist/renderer over loopback HTTP, as main loads it from the app's files. */
async function serveRenderer(): Promise<string> {
  const server = createServer((req, res) => {
    const path = normalize(
      decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname),
    ).replace(/^(\.\.[/\\])+/, '');
    const file = join(RENDERER, path);
    if (!file.startsWith(RENDERER) || !existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onCleanup(() => server.close());
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

let browser: Browser | undefined;
export async function launch(): Promise<Browser> {
  if (!browser) {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
    });
    onCleanup(() => browser?.close());
  }
  return browser;
}

export interface UiHarness {
  page: Page;
  handlers: Handlers;
  clipboard: string[];
  loginItem: { on: boolean };
  closed: number[];
  shown: number;
  hidden: number;
  /** As Electron's isVisible(): shown and not hidden since. */
  visible: boolean;
  /** Content heights the page asked for (approval:fit), in order. */
  fits: number[];
  /** Settles once the page's viewport has the size the last approval:fit asked for. */
  fitting: Promise<void>;
  notifications: string[];
  locked: boolean;
}

/** Open a renderer page wired to `proxy` exactly as main wires a window. */
export async function openWindow(
  proxy: RunningProxy,
  page: 'approval.html' | 'activity.html',
  opts: {
    colorScheme?: 'light' | 'dark';
    size?: { width: number; height: number };
    query?: string;
    /**
     * Hold the page's clock (Date, timers) still: time moves only when the test says
     * (page.clock.runFor), so nothing depends on how fast this machine is.
     */
    holdClock?: boolean;
  } = {},
): Promise<UiHarness> {
  const base = await serveRenderer();
  const b = await launch();
  const context = await b.newContext({
    colorScheme: opts.colorScheme ?? 'light',
    viewport: opts.size ?? (page === 'approval.html' ? APPROVAL_SIZE : { width: 760, height: 640 }),
  });
  onCleanup(() => context.close());
  const status = new AgentStatus(proxy, 60_000);
  await status.refresh();
  const h: UiHarness = {
    page: await context.newPage(),
    handlers: undefined as unknown as Handlers,
    clipboard: [],
    loginItem: { on: false },
    closed: [],
    shown: 0,
    hidden: 0,
    visible: false,
    fits: [],
    fitting: Promise.resolve(),
    notifications: [],
    locked: false,
  };
  h.handlers = createHandlers({
    proxy,
    platform: {
      platform: process.platform,
      env: { ...process.env, SSH_AUTH_SOCK: undefined },
      home: tempDir('sap-home-') || homedir(),
    },
    status,
    loginItem: { get: () => h.loginItem.on, set: (on) => void (h.loginItem.on = on) },
    clipboard: (t) => void h.clipboard.push(t),
    closeWindow: (id) => void h.closed.push(id),
    // As main sizes the approval window: the viewport is its content area, bounded alike.
    fitWindow: (_id, height) => {
      h.fits.push(height);
      const fitted = approvalContentHeight(height, WORK_AREA);
      if (h.page.viewportSize()?.height !== fitted)
        // A late call after the test closed its page changes nothing.
        h.fitting = h.page
          .setViewportSize({ width: APPROVAL_SIZE.width, height: fitted })
          .catch(() => {});
    },
    openLogs: () => {},
  });
  // The preload's API, with the same shape: invoke → main's handlers; on → main's events.
  await h.page.exposeBinding(
    '__sapInvoke',
    async (_source, channel: keyof Handlers, payload: unknown) => {
      const handler = h.handlers[channel];
      if (!handler) throw new Error(`unknown channel ${channel}`);
      return handler(payload, { senderId: 1 });
    },
  );
  // A string, not a function: the test's TypeScript transform would otherwise leak helpers into it.
  await h.page.addInitScript(`(() => {
    const listeners = {};
    const invoke = window.__sapInvoke;
    window[${JSON.stringify(BRIDGE_KEY)}] = Object.freeze({
      invoke: (channel, payload) => invoke(channel, payload),
      on: (channel, fn) => {
        (listeners[channel] ??= []).push(fn);
        return () => { listeners[channel] = (listeners[channel] || []).filter((f) => f !== fn); };
      },
    });
    window.__sapEmit = (channel, payload) => (listeners[channel] || []).forEach((fn) => fn(payload));
  })();`);
  if (opts.holdClock) {
    await context.clock.install({ time: PAGE_TIME });
    await context.clock.pauseAt(PAGE_TIME + 1000);
  }
  // The tray window is the broker's prompter; here its surface only records.
  proxy.broker.attach(
    new WindowPrompter({
      broker: proxy.broker,
      surface: {
        isVisible: () => h.visible,
        show: () => {
          h.shown++;
          h.visible = true;
        },
        hide: () => {
          h.hidden++;
          h.visible = false;
        },
        notify: (t, b) => void h.notifications.push(`${t}: ${b}`),
      },
      denyWhenLocked: () => proxy.config.denyWhenLocked,
      screenLocked: () => h.locked,
    }),
  );
  const off = feedEvents(proxy, status, (channel, payload) => {
    void h.page
      .evaluate(`window.__sapEmit(${JSON.stringify(channel)}, ${JSON.stringify(payload)})`)
      .catch(() => {});
  });
  onCleanup(off);
  await h.page.goto(`${base}/${page}${opts.query ?? ''}`);
  return h;
}
