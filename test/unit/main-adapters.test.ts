// The Electron main process's logic, in plain Node: menu model, tray icon choice, login
// items (the Linux .desktop file in a temp HOME), window placement, launch mode, IPC sender
// and payload checks, and the bundles' requires. Electron itself is never loaded here.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HANDLE_CHANNELS, type StatusView } from '../../src/ipc-contract.js';
import {
  autostartPath,
  desktopEntry,
  isAutostartEnabled,
  setAutostart,
} from '../../src/main/autostart-linux.js';
import yaml from 'js-yaml';
import { APP_USER_MODEL_ID, applyAppIdentity } from '../../src/main/app-identity.js';
import { openWindowOnReopen } from '../../src/main/app-reopen.js';
import { fileUrlPath, isFileUrlInside, isFileUrlOf } from '../../src/main/file-url.js';
import { LiveNotifications } from '../../src/main/live-notifications.js';
import { x11Relaunch } from '../../src/main/ozone-platform.js';
import { describeStartupError, startOrFail } from '../../src/main/startup.js';
import { ConfigError } from '../../src/core/config/config.js';
import { ListenError } from '../../src/core/http/listener.js';
import { EventEmitter } from 'node:events';
import { IpcPayloadError } from '../../src/main/ipc-handlers.js';
import { isTrustedSender, registerIpc } from '../../src/main/ipc-main.js';
import { cliArgs, isCliInvocation } from '../../src/main/launch-mode.js';
import { menuModel, statusLine } from '../../src/main/menu-model.js';
import { trayIconPath, trayState, trayTooltip } from '../../src/main/tray-state.js';
import { approvalWindowPosition, APPROVAL_SIZE } from '../../src/main/window-geometry.js';
import { silentLogger } from '../../src/core/logger.js';
import { tempDir } from '../helpers/openssh.js';
import { ROOT } from '../helpers/proxy.js';

const status = (over: Partial<StatusView> = {}): StatusView => ({
  url: 'http://127.0.0.1:7221',
  agentPath: '/run/agent.sock',
  agentSource: 'SSH_AUTH_SOCK',
  agentReachable: true,
  keyCount: 2,
  paused: false,
  policy: 'prompt',
  pending: 0,
  auditWritable: true,
  ...over,
});

describe('tray state and icons', () => {
  it('waiting outranks paused outranks unreachable', () => {
    assert.equal(trayState(status()), 'idle');
    assert.equal(trayState(status({ agentReachable: false })), 'unreachable');
    assert.equal(trayState(status({ agentReachable: false, paused: true })), 'paused');
    assert.equal(trayState(status({ agentReachable: false, paused: true, pending: 1 })), 'waiting');
    assert.match(trayTooltip('waiting', { pending: 3, url: '' }), /3 requests waiting for you/);
  });

  it('each OS gets its icon format, and every icon file exists', () => {
    const assets = join(ROOT, 'assets');
    for (const state of ['idle', 'waiting', 'paused', 'unreachable'] as const) {
      const mac = trayIconPath(assets, state, 'darwin');
      assert.match(mac, /Template\.png$/);
      for (const p of [
        mac,
        mac.replace('.png', '@2x.png'),
        trayIconPath(assets, state, 'win32'),
        trayIconPath(assets, state, 'linux'),
      ]) {
        assert.ok(existsSync(p), `${p} exists`);
      }
      const ico = readFileSync(trayIconPath(assets, state, 'win32'));
      assert.equal(ico.readUInt16LE(2), 1, 'an ICO file');
      assert.ok(ico.readUInt16LE(4) >= 3, 'with several sizes');
      const png = readFileSync(trayIconPath(assets, state, 'linux'));
      assert.equal(png.readUInt32BE(16), 24, '24 px wide');
    }
  });
});

describe('tray menu model', () => {
  it('status line, then pending requests, then the fixed items', () => {
    const prompts = ['a', 'b', 'c', 'd', 'e', 'f'].map((s, i) => ({
      id: String(i),
      group: 'g',
      headline: `Sign git commit "${s}"`,
      kindLabel: 'Commit signature',
      question: `Sign commit "${s}"?`,
      client: 'box1',
      clientNote: '',
      keyName: 'ana-laptop',
      keyType: 'ED25519',
      details: [],
      grantLabel: 'Allow box1 with this key for 10 minutes',
      programGrantLabel: null,
      receivedAt: 0,
      deadline: 0,
      groupOthers: [],
    }));
    const m = menuModel({ status: status({ pending: 6 }), prompts, startAtLogin: true });
    const labels = m.map((i) => (i.type === 'separator' ? '---' : i.label));
    assert.equal(labels[0], 'Listening on 127.0.0.1:7221 · agent: 2 keys');
    assert.equal(labels[2], '6 waiting for approval — show…');
    assert.equal(labels[3], '  box1: Sign git commit "a"');
    assert.equal(labels[8], '  …and 1 more');
    assert.deepEqual(labels.slice(-8), [
      '---',
      'Recent activity…',
      'Pause signing',
      'Start at login',
      'Settings…',
      'Open logs folder',
      '---',
      'Quit SSH Agent Proxy',
    ]);
    const login = m.find((i) => i.type === 'checkbox' && i.action === 'toggle-login');
    assert.equal(login?.type === 'checkbox' && login.checked, true);
  });

  it('paused and unreachable states read plainly', () => {
    const m = menuModel({
      status: status({ paused: true, agentReachable: false }),
      prompts: [],
      startAtLogin: false,
    });
    assert.equal(
      m[0]!.type !== 'separator' && m[0]!.label,
      'Listening on 127.0.0.1:7221 · agent unreachable',
    );
    assert.equal(m[1]!.type !== 'separator' && m[1]!.label, 'Signing is paused');
    const broken = menuModel({
      status: status({ auditWritable: false }),
      prompts: [],
      startAtLogin: false,
    });
    assert.equal(
      broken[1]!.type !== 'separator' && broken[1]!.label,
      'Audit log cannot be written · signing refused',
    );
    assert.equal(
      statusLine(status({ agentPath: null })),
      'Listening on 127.0.0.1:7221 · no agent found',
    );
  });
});

describe('start at login on Linux', () => {
  it('writes, reads and removes the XDG autostart entry; Exec is the AppImage when there is one', () => {
    const home = tempDir();
    const a = { env: {}, home, execPath: '/opt/SSH Agent Proxy/ssh-agent-proxy' };
    assert.equal(autostartPath(a), join(home, '.config', 'autostart', 'ssh-agent-proxy.desktop'));
    assert.equal(isAutostartEnabled(a), false);
    setAutostart(a, true);
    assert.equal(isAutostartEnabled(a), true, 'reflects the real state, as after a restart');
    const text = readFileSync(autostartPath(a), 'utf8');
    assert.match(text, /^Exec="\/opt\/SSH Agent Proxy\/ssh-agent-proxy" --hidden$/m);
    assert.match(text, /^Type=Application$/m);
    setAutostart(a, false);
    assert.equal(isAutostartEnabled(a), false);
    const appimage = {
      env: {
        APPIMAGE: '/home/ana/Apps/SSH-Agent-Proxy.AppImage',
        XDG_CONFIG_HOME: join(home, 'xdg'),
      },
      home,
      execPath: '/tmp/.mount_SSHxyz/ssh-agent-proxy',
    };
    assert.match(
      desktopEntry(appimage),
      /^Exec=\/home\/ana\/Apps\/SSH-Agent-Proxy\.AppImage --hidden$/m,
    );
    assert.equal(
      autostartPath(appimage),
      join(home, 'xdg', 'autostart', 'ssh-agent-proxy.desktop'),
    );
  });
});

describe('approval window placement', () => {
  const work = { x: 0, y: 25, width: 1440, height: 875 };
  it('under a tray icon at the top (macOS), over one at the bottom (Windows), on screen', () => {
    const top = approvalWindowPosition({ x: 1000, y: 0, width: 22, height: 24 }, work);
    assert.equal(top.y, 33, 'below the menu bar (work area top 25 + margin)');
    assert.equal(top.x, 1011 - APPROVAL_SIZE.width / 2, 'centred under the icon');
    const bottom = approvalWindowPosition(
      { x: 1420, y: 860, width: 24, height: 40 },
      { x: 0, y: 0, width: 1440, height: 860 },
    );
    assert.equal(bottom.x, 1440 - APPROVAL_SIZE.width - 8, 'clamped to the screen edge');
    assert.equal(bottom.y, 860 - APPROVAL_SIZE.height - 8);
  });
  it('centred on the work area when the tray position is unknown (Linux)', () => {
    const centre = {
      x: (1440 - APPROVAL_SIZE.width) / 2,
      y: Math.round(25 + (875 - APPROVAL_SIZE.height) / 2),
    };
    assert.deepEqual(approvalWindowPosition(null, work), centre);
    assert.deepEqual(approvalWindowPosition({ x: 0, y: 0, width: 0, height: 0 }, work), centre);
  });
});

describe('launch mode', () => {
  it('the packaged binary runs the CLI for --console, token, audit, --help, --version', () => {
    assert.deepEqual(cliArgs(['/opt/app/ssh-agent-proxy', '--console'], false), ['--console']);
    assert.deepEqual(cliArgs(['electron', '.', 'token', 'list'], true), ['token', 'list']);
    for (const a of [
      ['--console'],
      ['token', 'create', 'x'],
      ['audit'],
      ['setup'],
      ['grants'],
      ['grants', 'revoke', 'abcd'],
      ['pause'],
      ['resume'],
      ['--help'],
      ['--version'],
    ])
      assert.equal(isCliInvocation(a), true, a.join(' '));
    for (const a of [[], ['--hidden']]) assert.equal(isCliInvocation(a), false, a.join(' '));
  });
});

describe('IPC in main', () => {
  const policy = {
    isOwnWindow: (id: number) => id === 7,
    pagesDir: '/app/dist/renderer',
    platform: 'linux' as const,
  };

  it('accepts only our own windows showing our own pages', () => {
    const ev = (id: number, url: string) => ({ sender: { id }, senderFrame: { url } }) as never;
    assert.equal(isTrustedSender(ev(7, 'file:///app/dist/renderer/approval.html'), policy), true);
    assert.equal(isTrustedSender(ev(8, 'file:///app/dist/renderer/approval.html'), policy), false);
    assert.equal(isTrustedSender(ev(7, 'https://evil.example/'), policy), false);
    assert.equal(isTrustedSender(ev(7, 'file:///app/dist/renderer-evil/x.html'), policy), false);
    assert.equal(isTrustedSender(ev(7, 'file:///app/dist/renderer/../x.html'), policy), false);
    assert.equal(isTrustedSender(ev(7, 'file:///app/dist/renderer/%2e%2e/x.html'), policy), false);
    assert.equal(
      isTrustedSender(ev(7, 'file://evil.host/app/dist/renderer/a.html'), policy),
      false,
    );
    assert.equal(
      isTrustedSender(ev(7, 'file:///APP/dist/renderer/a.html'), policy),
      false,
      'POSIX paths keep case',
    );
  });

  it('Windows: the drive letter and case do not matter, the folder does (Chromium says C:, pathToFileURL c:)', () => {
    const dir =
      'c:\\Users\\Ana\\AppData\\Local\\Programs\\ssh-agent-proxy\\resources\\app.asar\\dist\\renderer';
    const win = {
      isOwnWindow: (id: number) => id === 7,
      pagesDir: dir,
      platform: 'win32' as const,
    };
    const ev = (url: string) => ({ sender: { id: 7 }, senderFrame: { url } }) as never;
    const page =
      'Users/Ana/AppData/Local/Programs/ssh-agent-proxy/resources/app.asar/dist/renderer/approval.html';
    assert.equal(isTrustedSender(ev(`file:///C:/${page}`), win), true, 'upper-case drive');
    assert.equal(isTrustedSender(ev(`file:///c:/${page}`), win), true, 'lower-case drive');
    assert.equal(
      isTrustedSender(ev(`file:///C:/${page.toUpperCase()}`), win),
      true,
      'case-insensitive',
    );
    assert.equal(isTrustedSender(ev(`file:///C:/${page}?tab=settings#x`), win), true);
    assert.equal(isTrustedSender(ev(`file:///D:/${page}`), win), false, 'another drive');
    assert.equal(
      isTrustedSender(ev(`file:///C:/${page.replace('renderer/', 'renderer-evil/')}`), win),
      false,
    );
    assert.equal(
      isTrustedSender(
        ev(`file:///C:/${page.replace('approval.html', '..%5C..%5Cevil.html')}`),
        win,
      ),
      false,
      'an encoded backslash cannot climb out',
    );
    assert.equal(
      isTrustedSender(ev('file://server/share/dist/renderer/approval.html'), win),
      false,
      'UNC',
    );
    assert.equal(isTrustedSender(ev('https://evil.example/'), win), false);
    assert.equal(fileUrlPath('file:///C:/a%20b/c.html', 'win32'), 'C:\\a b\\c.html');
    assert.equal(
      isFileUrlOf(`file:///C:/${page}?x=1`, `c:\\${page.replaceAll('/', '\\')}`, 'win32'),
      true,
    );
    assert.equal(
      isFileUrlOf(
        'file:///app/dist/renderer/approval.html?x',
        '/app/dist/renderer/approval.html',
        'linux',
      ),
      true,
    );
    assert.equal(
      isFileUrlOf(
        'file:///app/dist/renderer/activity.html',
        '/app/dist/renderer/approval.html',
        'linux',
      ),
      false,
    );
    assert.equal(isFileUrlInside('not a url', dir, 'win32'), false);
  });

  it('registers every channel; refuses foreign senders and bad payloads before the handler', async () => {
    const registered = new Map<string, (e: unknown, p: unknown) => Promise<unknown>>();
    const fakeIpc = {
      handle: (c: string, fn: never) => void registered.set(c, fn),
      removeHandler: (c: string) => void registered.delete(c),
    };
    let called = 0;
    const handlers = Object.fromEntries(
      HANDLE_CHANNELS.map((c) => [
        c,
        (p: unknown) => {
          called++;
          if (p === 'bad') throw new IpcPayloadError('x: expected an object');
          return 'ok';
        },
      ]),
    ) as never;
    const off = registerIpc(fakeIpc as never, handlers, policy, silentLogger);
    assert.deepEqual([...registered.keys()].sort(), [...HANDLE_CHANNELS].sort());
    const good = {
      sender: { id: 7 },
      senderFrame: { url: 'file:///app/dist/renderer/activity.html' },
    };
    assert.equal(await registered.get('activity:get')!(good, undefined), 'ok');
    await assert.rejects(
      registered.get('activity:get')!(
        { sender: { id: 9 }, senderFrame: { url: good.senderFrame.url } },
        undefined,
      ),
      /refused/,
    );
    assert.equal(called, 1, 'a foreign sender never reaches the handler');
    await assert.rejects(
      registered.get('tokens:create')!(good, 'bad'),
      /bad payload: x: expected an object/,
    );
    off();
    assert.equal(registered.size, 0);
  });
});

describe('bundles', () => {
  it('the sandboxed preload requires nothing but electron', () => {
    const text = readFileSync(join(ROOT, 'dist', 'preload', 'preload.js'), 'utf8');
    const requires = [...text.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(requires)], ['electron']);
  });

  it('the CLI bundle and the renderer never load electron or Node modules they must not', () => {
    const cli = readFileSync(join(ROOT, 'dist', 'cli', 'cli.js'), 'utf8');
    assert.doesNotMatch(cli, /require\(["']electron["']\)/);
    for (const page of ['approval.js', 'activity.js']) {
      const js = readFileSync(join(ROOT, 'dist', 'renderer', page), 'utf8');
      assert.doesNotMatch(js, /require\(/, `${page} has no require`);
    }
  });

  it('this test process never loaded electron', () => {
    const loaded = Object.keys(require.cache).filter((p) =>
      /node_modules[/\\]electron[/\\]/.test(p),
    );
    assert.deepEqual(loaded, []);
  });
});

describe('Windows identity', () => {
  it("the AppUserModelID is electron-builder.yml's appId (what the MSI shortcut carries), set on Windows only", () => {
    const builder = yaml.load(readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8')) as {
      appId: string;
    };
    assert.equal(APP_USER_MODEL_ID, builder.appId);
    for (const platform of ['win32', 'darwin', 'linux'] as const) {
      const set: string[] = [];
      applyAppIdentity({ setAppUserModelId: (id: string) => void set.push(id) }, platform);
      assert.deepEqual(set, platform === 'win32' ? [APP_USER_MODEL_ID] : [], platform);
    }
  });
});

describe('Linux display protocol', () => {
  it('relaunches as X11 under XWayland (so the prompt can stay on top); never without an X display; an explicit flag wins', () => {
    const wl = { WAYLAND_DISPLAY: 'wayland-0', DISPLAY: ':0' };
    const app = ['/opt/SSH Agent Proxy/ssh-agent-proxy', '--hidden'];
    assert.deepEqual(x11Relaunch(app, wl, 'linux'), { args: ['--hidden', '--ozone-platform=x11'] });
    assert.deepEqual(
      x11Relaunch(['electron', '.'], { XDG_SESSION_TYPE: 'wayland', DISPLAY: ':1' }, 'linux'),
      {
        args: ['.', '--ozone-platform=x11'],
      },
    );
    assert.deepEqual(
      x11Relaunch(
        ['/tmp/.mount_SSHxyz/ssh-agent-proxy'],
        { ...wl, APPIMAGE: '/home/ana/SSH.AppImage' },
        'linux',
      ),
      { args: ['--ozone-platform=x11'], execPath: '/home/ana/SSH.AppImage' },
      'an AppImage restarts from the AppImage, not its vanishing mount',
    );
    assert.equal(
      x11Relaunch(app, { WAYLAND_DISPLAY: 'wayland-0' }, 'linux'),
      null,
      'no XWayland: stay on Wayland',
    );
    assert.equal(
      x11Relaunch(app, { DISPLAY: ':0' }, 'linux'),
      null,
      'X11 session: nothing to change',
    );
    // The relaunched process carries the flag, so it never relaunches again.
    const relaunched = x11Relaunch(app, wl, 'linux')!;
    assert.equal(x11Relaunch([app[0]!, ...relaunched.args], wl, 'linux'), null);
    assert.equal(x11Relaunch([...app, '--ozone-platform', 'wayland'], wl, 'linux'), null);
    assert.deepEqual(
      x11Relaunch([...app, '--ozone-platform-hint=auto'], wl, 'linux')?.args.at(-1),
      '--ozone-platform=x11',
    );
    assert.equal(x11Relaunch(app, wl, 'darwin'), null);
  });
});

describe('app lifecycle', () => {
  it('reopening opens the window: second-instance everywhere, activate on macOS', () => {
    for (const platform of ['darwin', 'win32', 'linux'] as const) {
      const app = new EventEmitter();
      let opened = 0;
      openWindowOnReopen(app as never, () => opened++, platform);
      app.emit('second-instance');
      app.emit('activate');
      assert.equal(opened, platform === 'darwin' ? 2 : 1, platform);
    }
  });

  it('any start-up error becomes a dialog and an exit code, never an unhandled rejection', async () => {
    const failures: unknown[] = [];
    const lines: string[] = [];
    await startOrFail(
      async () => {
        throw new TypeError('tray icon missing');
      },
      (f) => failures.push(f),
      (l) => lines.push(l),
    );
    assert.deepEqual(failures, [
      {
        title: 'SSH Agent Proxy cannot start',
        message: 'unexpected error: tray icon missing',
        code: 1,
      },
    ]);
    assert.match(lines[0]!, /TypeError: tray icon missing/);
    assert.equal(
      describeStartupError(new ConfigError('SSH_AGENT_PROXY_ADDR', 'SSH_AGENT_PROXY_ADDR: bad'))
        .code,
      2,
    );
    assert.equal(describeStartupError(new ListenError('port 7221 is taken')).code, 1);
    assert.equal(describeStartupError('a string').message, 'unexpected error: a string');
    await startOrFail(
      async () => {
        throw new ListenError('127.0.0.1:7221 is in use');
      },
      (f) => failures.push(f),
      (l) => lines.push(l),
    );
    assert.equal(
      lines[1],
      'start-up failed: 127.0.0.1:7221 is in use',
      'no stack for an expected error',
    );
    failures.length = 0;
    await startOrFail(
      async () => {},
      (f) => failures.push(f),
      () => {},
    );
    assert.deepEqual(failures, []);
  });
});

describe('notifications', () => {
  it('each is held until click, close or failed; failed is logged', () => {
    const warnings: string[] = [];
    const live = new LiveNotifications({ ...silentLogger, warn: (m) => void warnings.push(m) });
    class FakeNotification extends EventEmitter {
      shown = false;
      show() {
        this.shown = true;
      }
    }
    const [a, b, c] = [new FakeNotification(), new FakeNotification(), new FakeNotification()];
    let clicks = 0;
    for (const n of [a, b, c]) live.show(n as never, () => clicks++);
    assert.ok(a.shown && b.shown && c.shown);
    assert.equal(live.size, 3, 'referenced while on screen');
    a.emit('click', {});
    assert.equal(clicks, 1);
    b.emit('close', {});
    c.emit('failed', {}, 'the app is not signed');
    assert.equal(live.size, 0);
    assert.deepEqual(warnings, ['notification could not be shown: the app is not signed']);
  });
});
