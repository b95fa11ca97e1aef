// "Start at login" against fakes of Electron's login-item API that answer as Electron 45
// really does on each OS (test/helpers/fake-login-items.ts), never by echoing what was set:
// on Windows get reads a differently named value than set writes unless the app takes care.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { APP_USER_MODEL_ID, applyAppIdentity } from '../../src/main/app-identity.js';
import { loginItem, type LoginHost } from '../../src/main/login-item.js';
import { fakeLoginItems, programOf } from '../helpers/fake-login-items.js';
import { tempDir } from '../helpers/openssh.js';

const EXE = 'C:\\Users\\ana\\AppData\\Local\\Programs\\SSH Agent Proxy\\SSH Agent Proxy.exe';
const quiet = { warn() {} };
const host = (platform: NodeJS.Platform, over: Partial<LoginHost> = {}): LoginHost => ({
  platform,
  execPath: platform === 'win32' ? EXE : '/Applications/SSH Agent Proxy.app/Contents/MacOS/x',
  env: {},
  home: tempDir('sap-login-'),
  ...over,
});

/** The app as main.ts starts it on Windows: its AppUserModelID set first. */
function windowsApp() {
  const app = fakeLoginItems('win32', { exePath: EXE });
  applyAppIdentity(app, 'win32');
  return app;
}

describe('the fakes answer as Electron does', () => {
  it('Windows: openAtLogin reads only the AppUserModelID-named value, as a whole command line; launchItems match the program', () => {
    const app = windowsApp();
    app.setLoginItemSettings({ openAtLogin: true, args: ['--hidden'], name: 'SSH Agent Proxy' });
    assert.equal(
      app.getLoginItemSettings({ args: ['--hidden'] }).openAtLogin,
      false,
      'written under another name: Electron reports it off',
    );
    assert.equal(app.run.read('SSH Agent Proxy'), `${EXE} --hidden`, 'the bare path, unquoted');
    app.setLoginItemSettings({ openAtLogin: true, args: ['--hidden'] });
    assert.equal(app.run.read(APP_USER_MODEL_ID), `${EXE} --hidden`);
    assert.equal(app.getLoginItemSettings({ args: ['--hidden'] }).openAtLogin, true);
    assert.equal(app.getLoginItemSettings().openAtLogin, false, 'other args: another string');
    // argv[0] as CommandLineToArgvW reads it: unquoted, a path with spaces stops at the first.
    assert.equal(programOf(`${EXE} --hidden`), 'C:\\Users\\ana\\AppData\\Local\\Programs\\SSH');
    assert.equal(programOf(`"${EXE}" --hidden`), EXE);
    app.run.write('OneDrive', '"C:\\Program Files\\Microsoft OneDrive\\OneDrive.exe" /background');
    // So the unquoted values match only the truncated program (and anything else under
    // `…\Programs\SSH…`), never the quoted exe path.
    const names = (path?: string) =>
      app
        .getLoginItemSettings(path ? { path } : {})
        .launchItems.map((i) => i.name)
        .sort();
    assert.deepEqual(names(), ['SSH Agent Proxy', APP_USER_MODEL_ID]);
    assert.deepEqual(names(`"${EXE}"`), []);
  });

  it('macOS ignores args and name; Linux does nothing and answers the defaults', () => {
    const mac = fakeLoginItems('darwin');
    mac.setLoginItemSettings({ openAtLogin: true, args: ['--x'], name: 'whatever' });
    assert.equal(mac.getLoginItemSettings({ args: ['--y'] }).openAtLogin, true);
    const linux = fakeLoginItems('linux');
    linux.setLoginItemSettings({ openAtLogin: true });
    assert.equal(linux.getLoginItemSettings().openAtLogin, false);
  });
});

describe('start at login, installed app', () => {
  it('Windows: what is turned on reads back on, and off reads back off', () => {
    const app = windowsApp();
    const item = loginItem(app, quiet, host('win32'));
    assert.equal(item.get(), false);
    item.set(true);
    assert.equal(item.get(), true, 'the checkbox shows what was set');
    // The Run value: our AppUserModelID as its name, the quoted exe, --hidden.
    assert.equal(app.run.read(APP_USER_MODEL_ID), `"${EXE}" --hidden`);
    item.set(false);
    assert.equal(item.get(), false);
    assert.deepEqual(app.run.entries(), []);
  });

  it('Windows: switched off in Task Manager reads off; turning it on again clears that mark', () => {
    const app = windowsApp();
    const item = loginItem(app, quiet, host('win32'));
    item.set(true);
    // What Task Manager's Startup tab writes when the person disables the entry.
    app.startupApproved.set(APP_USER_MODEL_ID.toLowerCase(), Uint8Array.of(3, 0, 0, 0, 9, 9, 9));
    assert.equal(item.get(), false, 'Windows will not start it: the box must not say it will');
    item.set(true);
    assert.equal(item.get(), true);
  });

  it("Windows: off also removes an earlier build's value named after the product, and leaves other programs' values alone", () => {
    const app = windowsApp();
    app.run.write('SSH Agent Proxy', `"${EXE}" --hidden`);
    const other = '"C:\\Program Files\\Microsoft OneDrive\\OneDrive.exe" /background';
    app.run.write('OneDrive', other);
    app.machineRun.write('Corp', `"${EXE}"`);
    const item = loginItem(app, quiet, host('win32'));
    assert.equal(item.get(), true, 'the old value still starts the app at login');
    item.set(false);
    assert.equal(item.get(), false);
    assert.deepEqual(
      app.run.entries().map((e) => e.name),
      ['OneDrive'],
    );
    assert.equal(app.run.read('OneDrive'), other);
    assert.equal(app.machineRun.read('Corp'), `"${EXE}"`, 'machine-wide entries are not ours');
  });

  it('macOS: registers the app itself; "requires approval" in System Settings reads off', () => {
    const app = fakeLoginItems('darwin');
    const item = loginItem(app, quiet, host('darwin'));
    item.set(true);
    assert.equal(item.get(), true);
    item.set(false);
    assert.equal(item.get(), false);
    app.macStatus = 'requires-approval';
    item.set(true);
    assert.equal(item.get(), false);
  });

  it("Linux: an XDG autostart entry (Electron's API does nothing there)", () => {
    const app = fakeLoginItems('linux');
    const h = host('linux', { execPath: '/opt/SSH Agent Proxy/ssh-agent-proxy' });
    const item = loginItem(app, quiet, h);
    item.set(true);
    assert.equal(item.get(), true);
    assert.ok(existsSync(join(h.home, '.config', 'autostart', 'ssh-agent-proxy.desktop')));
    item.set(false);
    assert.equal(item.get(), false);
  });
});

describe('start at login, run from a checkout', () => {
  it('registers nothing on any OS (it would register the bare Electron binary), and says so', () => {
    const warnings: string[] = [];
    for (const platform of ['win32', 'darwin', 'linux'] as const) {
      const app = fakeLoginItems(platform, { isPackaged: false });
      const h = host(platform, { execPath: '/repo/node_modules/electron/dist/electron' });
      const dev = loginItem(app, { warn: (m) => void warnings.push(m) }, h);
      dev.set(true);
      assert.equal(dev.get(), false, platform);
      assert.deepEqual(app.run.entries(), [], platform);
      assert.equal(app.macStatus, 'not-registered', platform);
      assert.equal(existsSync(join(h.home, '.config', 'autostart')), false, platform);
    }
    assert.equal(warnings.length, 3);
    assert.match(warnings[0]!, /bare Electron binary/);
  });
});
