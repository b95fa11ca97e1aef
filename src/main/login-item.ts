// Start at login: macOS and Windows through app.setLoginItemSettings (Windows writes the
// HKCU Run key under our product name; both start hidden in the tray), Linux through an XDG
// autostart entry. Only for the installed app: run from a checkout (`npm start`), the
// executable is the bare Electron binary, which at login would start Electron's default app,
// not ours; there it registers nothing and says so.
import type { App } from 'electron';
import { homedir } from 'node:os';
import type { Logger } from '../core/logger.js';
import { LOGIN_ITEM_NAME } from './app-identity.js';
import { isAutostartEnabled, setAutostart } from './autostart-linux.js';

export interface LoginItem {
  get(): boolean;
  set(on: boolean): void;
}

export function loginItem(
  app: Pick<App, 'getLoginItemSettings' | 'setLoginItemSettings' | 'isPackaged'>,
  log: Pick<Logger, 'warn'>,
  platform = process.platform,
  execPath = process.execPath,
): LoginItem {
  if (!app.isPackaged) {
    return {
      get: () => false,
      set: (on) => {
        if (on)
          log.warn(
            'Start at login is for the installed app: from a checkout it would register the bare Electron binary, so nothing was registered',
          );
      },
    };
  }
  if (platform === 'linux') {
    const env = { env: process.env, home: homedir(), execPath };
    return { get: () => isAutostartEnabled(env), set: (on) => setAutostart(env, on) };
  }
  const args = ['--hidden'];
  return {
    get: () => app.getLoginItemSettings({ args }).openAtLogin,
    // The app opens no window at start (it lives in the tray), so "hidden" needs no flag of
    // the OS. `name` is the Run key value's name on Windows (ignored on macOS).
    set: (on) => app.setLoginItemSettings({ openAtLogin: on, args, name: LOGIN_ITEM_NAME }),
  };
}
