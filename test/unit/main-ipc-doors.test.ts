// Every IPC door into the main process is registerIpc's, which checks the sender. The built
// main bundle is loaded in plain Node with a stand-in for the `electron` module that records
// what is registered on ipcMain while the bundle loads and starts (as the CLI and as a
// second tray instance): nothing may be, since a library registering its own channel (as
// electron-log's Electron entry does with `__ELECTRON_LOG__`) would take messages from any
// page. Also: the main log, now electron-log's Node entry, still writes its owner-only file.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { mainLogger } from '../../src/main/main-log.js';
import { tempDir, waitFor } from '../helpers/openssh.js';
import { ROOT } from '../helpers/proxy.js';

// Loaded with `node --require`: answers require('electron') with a recorder. The app's
// exit and quit print what ipcMain saw, then end the process.
const STAND_IN = `
const Module = require('node:module');
const seen = [];
const record = (kind) => (channel) => void seen.push(kind + ' ' + channel);
const done = (code) => {
  process.stdout.write('\\nIPC-REGISTERED ' + JSON.stringify(seen) + '\\n');
  process.exit(code ?? 0);
};
const app = {
  isPackaged: false, dock: undefined,
  exit: done, quit: () => done(0),
  on() {}, once() {}, off() {}, isReady: () => false,
  whenReady: () => new Promise(() => {}),
  requestSingleInstanceLock: () => false,
  setAppUserModelId() {}, relaunch() {},
  getPath: () => require('node:os').tmpdir(), getName: () => 'stand-in', getVersion: () => '0',
};
const ipcMain = { on: record('on'), once: record('once'), handle: record('handle'),
  handleOnce: record('handleOnce'), addListener: record('on') };
// Only what the main process has: the rest (ipcRenderer and other renderer modules) is
// undefined there, as in Electron's main process.
const electron = { app, ipcMain };
process.defaultApp = true;
const load = Module._load;
Module._load = function (request, ...rest) {
  return request === 'electron' ? electron : load.call(this, request, ...rest);
};
`;

function registered(script: string, args: string[]): Promise<string[]> {
  const dir = tempDir('sap-ipc-doors-');
  writeFileSync(join(dir, 'stand-in.cjs'), STAND_IN);
  const child = spawn(process.execPath, ['--require', join(dir, 'stand-in.cjs'), script, ...args], {
    cwd: ROOT,
    env: { ...process.env, SSH_AGENT_PROXY_CONFIG_DIR: join(dir, 'cfg') },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', () => {
      const m = /IPC-REGISTERED (.*)/.exec(out);
      if (m) resolve(JSON.parse(m[1]!) as string[]);
      else reject(new Error(`the stand-in never saw the app end:\n${out}`));
    });
  });
}

describe('IPC doors of the main bundle', () => {
  it("the stand-in does see a library's own channel (electron-log's Electron entry)", async () => {
    const dir = tempDir('sap-ipc-control-');
    const control = join(dir, 'control.cjs');
    writeFileSync(
      control,
      `require(${JSON.stringify(join(ROOT, 'node_modules', 'electron-log', 'main.js'))});\nrequire('electron').app.exit(0);\n`,
    );
    assert.deepEqual(await registered(control, []), [
      'on __ELECTRON_LOG__',
      'handle __ELECTRON_LOG__',
    ]);
  });

  it('run as the CLI (--version) and as a second tray instance, the bundle registers nothing', async () => {
    const main = join(ROOT, 'dist', 'main', 'main.js');
    assert.deepEqual(await registered(main, ['--version']), []);
    assert.deepEqual(await registered(main, []), []);
  });
});

describe('main log', () => {
  it('writes <config dir>/logs/main.log, owner-only, at the level set', async () => {
    const dir = tempDir('sap-main-log-');
    const log = mainLogger(dir, 'info');
    log.debug('not at info');
    log.info('tray icon created');
    const file = join(dir, 'logs', 'main.log');
    await waitFor(
      () => {
        try {
          return readFileSync(file, 'utf8').includes('tray icon created');
        } catch {
          return false;
        }
      },
      10_000,
      'main.log',
    );
    assert.doesNotMatch(readFileSync(file, 'utf8'), /not at info/);
    if (process.platform !== 'win32') assert.equal(statSync(file).mode & 0o777, 0o600);
  });
});
