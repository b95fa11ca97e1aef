// The tray app's wiring (src/main/tray-app.ts), run in Node against recording fakes of the
// Electron objects it is handed, on a real proxy and a real ssh-agent. Electron itself
// cannot run here; this checks what main does with it: icon and menu per state, the
// approval window shown without focus and placed, notifications, IPC from its own windows
// only, and a clean quit.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { before, describe, it } from 'node:test';
import { startTrayApp, type TrayAppDeps } from '../../src/main/tray-app.js';
import { agentWithKey, commitObject } from '../helpers/fixtures.js';
import { startAgent, tempDir, waitFor, type Agent } from '../helpers/openssh.js';
import { http, ROOT, startTestProxy } from '../helpers/proxy.js';

let agent: Agent;
before(async () => {
  ({ agent } = await agentWithKey());
});

type Handler = (e: unknown, payload: unknown) => Promise<unknown>;

function fakes() {
  const calls: string[] = [];
  let nextId = 1;
  const windows: FakeWindow[] = [];
  class FakeWebContents extends EventEmitter {
    id = nextId++;
    sent: [string, unknown][] = [];
    url = '';
    setWindowOpenHandler() {}
    send(channel: string, payload: unknown) {
      this.sent.push([channel, payload]);
    }
  }
  // As Electron's BrowserWindow: width/height are the content's with useContentSize, else
  // the whole window's; a framed window's title bar adds FRAME_H; sizes are Int32s (gin's
  // conversion throws a TypeError on anything else); hide() on a hidden window does nothing.
  const FRAME_H = 28;
  const int32 = (v: unknown, i: number) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31)
      throw new TypeError(
        `Error processing argument at index ${i}, conversion failure from ${String(v)}`,
      );
    return v;
  };
  class FakeWindow extends EventEmitter {
    webContents = new FakeWebContents();
    visible = false;
    position: [number, number] = [0, 0];
    content: [number, number];
    readonly frameH: number;
    constructor(readonly options: Record<string, unknown>) {
      super();
      this.frameH = options.frame === false ? 0 : FRAME_H;
      const w = int32(options.width ?? 800, 0);
      const h = int32(options.height ?? 600, 1);
      this.content = options.useContentSize ? [w, h] : [w, h - this.frameH];
      windows.push(this);
    }
    getContentSize() {
      return [...this.content];
    }
    getSize() {
      return [this.content[0], this.content[1] + this.frameH];
    }
    setContentSize(w: number, h: number) {
      this.content = [int32(w, 0), int32(h, 1)];
      calls.push(`contentSize ${w}x${h}`);
      this.emit('resize');
    }
    setAlwaysOnTop(on: boolean, level: string) {
      calls.push(`alwaysOnTop ${on} ${level}`);
    }
    setVisibleOnAllWorkspaces(on: boolean, o: object) {
      calls.push(`allWorkspaces ${on} ${JSON.stringify(o)}`);
    }
    setMenuBarVisibility() {}
    loadURL(url: string) {
      this.webContents.url = url;
      return Promise.resolve();
    }
    isVisible() {
      return this.visible;
    }
    isDestroyed() {
      return false;
    }
    showInactive() {
      this.visible = true;
      calls.push('showInactive');
    }
    show() {
      this.visible = true;
    }
    hide() {
      if (!this.visible) return;
      this.visible = false;
      calls.push('hide');
      this.emit('hide');
    }
    focus() {}
    moveTop() {}
    setPosition(x: number, y: number) {
      this.position = [int32(x, 0), int32(y, 1)];
      calls.push(`position ${x},${y}`);
    }
    static getAllWindows() {
      return windows;
    }
  }
  const tray = {
    image: '',
    tooltip: '',
    menu: [] as { label?: string; type?: string; click?: () => void; checked?: boolean }[],
    events: new EventEmitter(),
    destroyed: false,
  };
  class FakeTray {
    constructor(image: string) {
      tray.image = image;
    }
    getBounds() {
      return { x: 1000, y: 0, width: 22, height: 24 };
    }
    setImage(image: string) {
      tray.image = image;
    }
    setToolTip(t: string) {
      tray.tooltip = t;
    }
    setContextMenu(menu: typeof tray.menu) {
      tray.menu = menu;
    }
    on(ev: string, fn: () => void) {
      tray.events.on(ev, fn);
    }
    destroy() {
      tray.destroyed = true;
    }
  }
  const notifications: string[] = [];
  const notificationObjects: EventEmitter[] = [];
  class FakeNotification extends EventEmitter {
    static isSupported() {
      return true;
    }
    constructor(private readonly o: { title: string; body: string }) {
      super();
      notificationObjects.push(this);
    }
    show() {
      notifications.push(`${this.o.title} | ${this.o.body}`);
    }
  }
  const idle = { state: 'active' as 'active' | 'idle' | 'locked' | 'unknown' };
  const handlers = new Map<string, Handler>();
  const app = Object.assign(new EventEmitter(), {
    isPackaged: true,
    quit: () => calls.push('app.quit'),
  });
  const session = {
    defaultSession: {
      setPermissionRequestHandler: () => calls.push('permissions denied'),
      setPermissionCheckHandler: () => {},
    },
  };
  const electron = {
    app,
    BrowserWindow: FakeWindow,
    Tray: FakeTray,
    Menu: { buildFromTemplate: (t: unknown) => t },
    nativeImage: { createFromPath: (p: string) => p },
    Notification: FakeNotification,
    powerMonitor: Object.assign(new EventEmitter(), {
      getSystemIdleState: () => idle.state,
    }),
    screen: {
      getCursorScreenPoint: () => ({ x: 0, y: 0 }),
      getDisplayNearestPoint: () => ({ workArea: { x: 0, y: 25, width: 1440, height: 875 } }),
    },
    shell: { openPath: async (p: string) => void calls.push(`open ${p}`) },
    clipboard: { writeText: (t: string) => calls.push(`clipboard ${t.length}`) },
    ipcMain: {
      handle: (c: string, fn: Handler) => void handlers.set(c, fn),
      removeHandler: (c: string) => void handlers.delete(c),
    },
    session,
  };
  return { electron, calls, windows, tray, notifications, notificationObjects, idle, handlers };
}

function logRecorder() {
  const lines: string[] = [];
  return {
    lines,
    log: {
      debug() {},
      info() {},
      warn: (m: string) => void lines.push(`warn ${m}`),
      error: (m: string) => void lines.push(`error ${m}`),
    },
  };
}

describe('tray app wiring (Electron faked, core real)', () => {
  it('a request turns the icon to waiting, lists it in the menu, shows the window without focus, and is answered over IPC', async () => {
    const tp = await startTestProxy({
      SSH_AGENT_PROXY_UPSTREAM: agent.sock,
      SSH_AGENT_PROXY_APPROVAL: 'prompt',
      // The notification's exact text: whether a lookup ends within its budget depends on
      // the machine's load (the program in it is tested in request-summary.test.ts).
      SSH_AGENT_PROXY_PROGRAM_LOOKUP: 'false',
    });
    const f = fakes();
    const rec = logRecorder();
    const login = { on: false };
    const distDir = join(ROOT, 'dist');
    const app = startTrayApp({
      electron: f.electron as unknown as TrayAppDeps['electron'],
      proxy: tp.proxy,
      config: tp.proxy.config,
      log: rec.log,
      platform: 'linux',
      loginItem: { get: () => login.on, set: (on) => void (login.on = on) },
      distDir,
      assetsDir: join(ROOT, 'assets'),
    });
    assert.ok(f.calls.includes('permissions denied'));
    const [approval] = f.windows;
    assert.equal(approval!.options.alwaysOnTop, true);
    assert.equal((approval!.options.webPreferences as Record<string, unknown>).sandbox, true);
    assert.equal(
      (approval!.options.webPreferences as Record<string, unknown>).contextIsolation,
      true,
    );
    assert.equal(
      (approval!.options.webPreferences as Record<string, unknown>).nodeIntegration,
      false,
    );
    assert.equal(
      approval!.webContents.url,
      pathToFileURL(join(distDir, 'renderer', 'approval.html')).href,
    );
    await waitFor(() => /tray-(idle|unreachable)/.test(f.tray.image), 5_000, 'the first icon');

    const res = http(`${tp.url}/sign`, {
      method: 'POST',
      body: commitObject('From the tray test'),
    });
    await waitFor(() => tp.proxy.broker.queue().length === 1, 5_000, 'a pending request');
    assert.match(f.tray.image, /tray-waiting/);
    assert.match(f.tray.tooltip, /1 request waiting for you/);
    const labels = f.tray.menu.map((m) => m.label ?? '---');
    assert.ok(labels.includes('1 waiting for approval — show…'));
    assert.ok(labels.some((l) => l.includes('Sign git commit "From the tray test"')));
    assert.ok(f.calls.includes('showInactive'), 'shown without taking focus');
    // Linux: Electron cannot tell where the tray icon is, so the window is centred on the
    // work area; elsewhere it sits under the icon.
    assert.deepEqual(
      approval!.position,
      // The whole window (content 460×420 and a 28 px title bar), centred: y = 25 + (875 − 448) / 2.
      process.platform === 'linux' ? [490, 239] : [1011 - 230, 33],
    );
    assert.equal(f.notifications.length, 1);
    // Unsigned macOS builds cannot post notifications: that is logged, not lost.
    f.notificationObjects[0]!.emit('failed', {}, 'not allowed');
    assert.ok(rec.lines.includes('warn notification could not be shown: not allowed'));
    assert.equal(
      f.notifications[0]!,
      'Sign commit "From the tray test"? | Asked by local 127.0.0.1 · key ed25519@test',
    );
    assert.ok(approval!.webContents.sent.some(([c]) => c === 'approval:queue-changed'));

    // IPC: a foreign sender is refused; the window's own answer settles the request.
    const answer = f.handlers.get('approval:answer')!;
    const id = tp.proxy.broker.queue()[0]!.id;
    const payload = { target: { id }, answer: 'allow-once' };
    await assert.rejects(
      answer({ sender: { id: 999 }, senderFrame: { url: approval!.webContents.url } }, payload),
    );
    await assert.rejects(
      answer(
        { sender: { id: approval!.webContents.id }, senderFrame: { url: 'https://evil.example/' } },
        payload,
      ),
    );
    assert.equal(tp.proxy.broker.queue().length, 1);
    assert.equal(
      await answer(
        {
          sender: { id: approval!.webContents.id },
          senderFrame: { url: approval!.webContents.url },
        },
        payload,
      ),
      true,
    );
    assert.equal((await res).status, 200);
    await waitFor(() => !/tray-waiting/.test(f.tray.image), 5_000, 'the icon to leave waiting');
    assert.equal(approval!.isVisible(), false, 'nothing waits: the window is hidden');
    assert.ok(f.calls.includes('hide'));

    // Closing the approval window hides it and answers nothing.
    const ev = {
      defaultPrevented: false,
      preventDefault() {
        this.defaultPrevented = true;
      },
    };
    approval!.emit('close', ev);
    assert.equal(ev.defaultPrevented, true);

    // Menu actions: pause, start at login, settings window.
    f.tray.menu.find((m) => m.label === 'Pause signing')!.click!();
    assert.equal(tp.proxy.broker.paused, true);
    assert.match(f.tray.image, /tray-paused/);
    assert.equal(f.tray.menu.find((m) => m.label === 'Start at login')!.checked, false);
    f.tray.menu.find((m) => m.label === 'Start at login')!.click!();
    assert.equal(login.on, true);
    assert.equal(
      f.tray.menu.find((m) => m.label === 'Start at login')!.checked,
      true,
      'the menu is rebuilt with the new state',
    );
    f.tray.menu.find((m) => m.label === 'Settings…')!.click!();
    const activity = f.windows[1]!;
    assert.match(activity.webContents.url, /activity\.html\?tab=settings$/);

    // Screen lock with the option on: denied without a window.
    tp.proxy.broker.setPaused(false);
    tp.proxy.applySettings({ denyWhenLocked: true });
    f.electron.powerMonitor.emit('lock-screen');
    approval!.hide();
    const locked = await http(`${tp.url}/sign`, {
      method: 'POST',
      body: commitObject('While locked'),
    });
    assert.equal(locked.status, 403);
    assert.match(locked.text, /^denied-screen-locked: /);
    assert.equal(approval!.isVisible(), false);

    await app.quit();
    assert.equal(f.tray.destroyed, true);
    assert.equal(f.handlers.size, 0, 'IPC handlers removed');
  });
});

describe('tray app per OS (Electron faked, core real)', () => {
  async function start(platform: NodeJS.Platform, env: Record<string, string> = {}) {
    const tp = await startTestProxy({
      SSH_AGENT_PROXY_UPSTREAM: agent.sock,
      SSH_AGENT_PROXY_APPROVAL: 'prompt',
      ...env,
    });
    const f = fakes();
    const app = startTrayApp({
      electron: f.electron as unknown as TrayAppDeps['electron'],
      proxy: tp.proxy,
      config: tp.proxy.config,
      log: logRecorder().log,
      loginItem: { get: () => false, set() {} },
      distDir: join(ROOT, 'dist'),
      assetsDir: join(ROOT, 'assets'),
      platform,
    });
    return { tp, f, app };
  }

  it('macOS: no click handler on the menu-bar icon (a click opens the menu); elsewhere a click opens a window', async () => {
    for (const platform of ['darwin', 'win32', 'linux'] as const) {
      const { f, app } = await start(platform);
      assert.equal(f.tray.events.listenerCount('click'), platform === 'darwin' ? 0 : 1, platform);
      if (platform !== 'darwin') {
        f.tray.events.emit('click');
        assert.match(f.windows.at(-1)!.webContents.url, /activity\.html\?tab=activity$/);
      }
      await app.quit();
    }
  });

  it('the approval window: on every workspace without turning the app into a Dock app; first click only activates', async () => {
    const { f, app } = await start('darwin');
    const approval = f.windows[0]!;
    assert.ok(
      f.calls.includes(
        'allWorkspaces true {"visibleOnFullScreen":true,"skipTransformProcessType":true}',
      ),
      f.calls.join('\n'),
    );
    assert.equal(approval.options.acceptFirstMouse, false);
    assert.equal(approval.options.type, 'panel');
    await app.quit();
  });

  it('the approval window takes its page’s height (whole pixels, bounded, placed again); other windows cannot resize it', async () => {
    // macOS: the tray icon's place is known (and file URLs here are POSIX paths).
    const { f, app } = await start('darwin');
    const [approval] = f.windows;
    assert.equal(approval!.options.useContentSize, true, 'its size is the content’s');
    const fit = f.handlers.get('approval:fit')!;
    const from = (w: (typeof f.windows)[number]) => ({
      sender: { id: w.webContents.id },
      senderFrame: { url: w.webContents.url },
    });
    // Hidden: sized, not placed (it is placed when shown).
    const placed = () => f.calls.filter((c) => c.startsWith('position ')).length;
    const before = placed();
    assert.equal(await fit(from(approval!), { height: 301.25 }), true);
    assert.deepEqual(approval!.getContentSize(), [460, 302], 'rounded up to whole pixels');
    assert.equal(placed(), before);
    // Visible: placed again for its new size, under the tray icon.
    approval!.showInactive();
    await fit(from(approval!), { height: 350 });
    assert.equal(placed(), before + 1);
    assert.deepEqual(approval!.position, [1011 - 230, 33]);
    await fit(from(approval!), { height: 5000 });
    assert.deepEqual(approval!.getContentSize(), [460, 640], 'capped');
    await fit(from(approval!), { height: 10 });
    assert.deepEqual(approval!.getContentSize(), [460, 200], 'never below a usable height');
    await assert.rejects(fit(from(approval!), { height: 'tall' }));
    await assert.rejects(fit(from(approval!), { height: -1 }));
    // The activity window is one of ours, but it does not size the approval window.
    f.tray.menu.find((m) => m.label === 'Settings…')!.click!();
    const activity = f.windows[1]!;
    await fit(from(activity), { height: 400 });
    assert.deepEqual(approval!.getContentSize(), [460, 200]);
    await app.quit();
  });

  it('deny while locked also holds when the lock began before the app (no lock-screen event: the idle state says locked)', async () => {
    const { tp, f, app } = await start('linux');
    tp.proxy.applySettings({ denyWhenLocked: true });
    f.idle.state = 'locked';
    const locked = await http(`${tp.url}/sign`, { method: 'POST', body: commitObject('Locked') });
    assert.equal(locked.status, 403);
    assert.match(locked.text, /^denied-screen-locked: /);
    assert.equal(f.windows[0]!.isVisible(), false, 'no window while locked');
    // Unlocked again: the request is asked about, not denied.
    f.idle.state = 'active';
    const res = http(`${tp.url}/sign`, { method: 'POST', body: commitObject('Unlocked') });
    await waitFor(() => tp.proxy.broker.queue().length === 1, 5_000, 'a pending request');
    assert.equal(f.windows[0]!.isVisible(), true);
    tp.proxy.broker.autoDeny(
      tp.proxy.broker.queue()[0]!.id,
      'person',
      'denied-by-user',
      'test over',
    );
    assert.equal((await res).status, 403);
    await app.quit();
  });

  it('at start: a control channel that is off (another proxy has it) is said in a notification, not only logged', async () => {
    const tp = await startTestProxy({ SSH_AGENT_PROXY_APPROVAL: 'deny' });
    const f = fakes();
    const why = '/x/control.sock is in use (another ssh-agent-proxy?); … cannot reach THIS proxy';
    const app = startTrayApp({
      electron: f.electron as unknown as TrayAppDeps['electron'],
      proxy: tp.proxy,
      config: tp.proxy.config,
      log: logRecorder().log,
      loginItem: { get: () => false, set() {} },
      distDir: join(ROOT, 'dist'),
      assetsDir: join(ROOT, 'assets'),
      platform: 'linux',
      controlOff: why,
    });
    assert.ok(
      f.notifications.includes(`SSH Agent Proxy: control channel off | ${why}`),
      f.notifications.join('\n'),
    );
    await app.quit();
  });

  it('at start: says whether signing can work; an agent without keys gets a warning and a notification naming the fix', async () => {
    const empty = await startAgent(tempDir(), 'empty.sock');
    for (const [sock, keys] of [
      [agent.sock, 1],
      [empty.sock, 0],
    ] as const) {
      const tp = await startTestProxy({
        SSH_AGENT_PROXY_UPSTREAM: sock,
        SSH_AGENT_PROXY_APPROVAL: 'prompt',
      });
      const f = fakes();
      const rec = logRecorder();
      const infos: string[] = [];
      const app = startTrayApp({
        electron: f.electron as unknown as TrayAppDeps['electron'],
        proxy: tp.proxy,
        config: tp.proxy.config,
        log: { ...rec.log, info: (m: string) => void infos.push(m) },
        loginItem: { get: () => false, set() {} },
        distDir: join(ROOT, 'dist'),
        assetsDir: join(ROOT, 'assets'),
        platform: 'linux',
      });
      const said = () => [...infos, ...rec.lines].find((l) => l.includes(`agent: ${sock}`));
      await waitFor(() => said() !== undefined, 5_000, 'the start-up agent check');
      if (keys === 1) {
        assert.equal(said(), `agent: ${sock} (SSH_AGENT_PROXY_UPSTREAM) answers and holds 1 key`);
        assert.equal(f.notifications.length, 0);
      } else {
        assert.match(said()!, /^warn agent: .* answers but holds no keys — signing will fail/);
        assert.equal(f.notifications.length, 1);
        assert.match(
          f.notifications[0]!,
          /^SSH Agent Proxy: signing cannot work yet \| add one with ssh-add/,
        );
      }
      await app.quit();
    }
  });
});
