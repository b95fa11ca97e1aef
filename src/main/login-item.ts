// Start at login: macOS and Windows through app.setLoginItemSettings (Windows writes the
// HKCU Run key; both start hidden in the tray), Linux through an XDG autostart entry.
import type { App } from 'electron';
import { homedir } from 'node:os';
import { isAutostartEnabled, setAutostart } from './autostart-linux.js';

export interface LoginItem {
  get(): boolean;
  set(on: boolean): void;
}

export function loginItem(
  app: Pick<App, 'getLoginItemSettings' | 'setLoginItemSettings'>,
  platform = process.platform,
): LoginItem {
  if (platform === 'linux') {
    const env = { env: process.env, home: homedir(), execPath: process.execPath };
    return { get: () => isAutostartEnabled(env), set: (on) => setAutostart(env, on) };
  }
  const args = ['--hidden'];
  return {
    get: () => app.getLoginItemSettings({ args }).openAtLogin,
    // The app opens no window at start (it lives in the tray), so "hidden" needs no flag of the OS.
    set: (on) => app.setLoginItemSettings({ openAtLogin: on, args }),
  };
}
