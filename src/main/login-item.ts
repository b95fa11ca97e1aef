// Start at login: macOS and Windows through app.setLoginItemSettings (both start hidden in
// the tray), Linux through an XDG autostart entry. Only for the installed app: run from a
// checkout (`npm start`), the executable is the bare Electron binary, which at login would
// start Electron's default app, not ours; there it registers nothing and says so.
//
// Windows, as Electron 45 really does it (shell/browser/browser_win.cc): set writes the
// HKCU Run value under `name`, but get's `openAtLogin` only ever reads the value named after
// the AppUserModelID, comparing the whole command line as a string. So we read
// `launchItems` instead — every Run value whose program is this exe, with `enabled` as Task
// Manager's Startup tab left it — and name our value after the AppUserModelID anyway. The
// path is quoted: the install folder has spaces, and unquoted, Windows (and Electron's own
// CommandLineToArgvW reading) would take `…\Programs\SSH` for the program.
import type { App } from 'electron';
import { homedir } from 'node:os';
import type { Logger } from '../core/logger.js';
import { APP_USER_MODEL_ID } from './app-identity.js';
import { isAutostartEnabled, setAutostart } from './autostart-linux.js';

export interface LoginItem {
  get(): boolean;
  set(on: boolean): void;
}

/** Where the app runs; injectable so tests never touch the real HOME or registry. */
export interface LoginHost {
  platform: NodeJS.Platform;
  execPath: string;
  env: Readonly<Record<string, string | undefined>>;
  home: string;
}

const thisHost = (): LoginHost => ({
  platform: process.platform,
  execPath: process.execPath,
  env: process.env,
  home: homedir(),
});

export function loginItem(
  app: Pick<App, 'getLoginItemSettings' | 'setLoginItemSettings' | 'isPackaged'>,
  log: Pick<Logger, 'warn'>,
  host: LoginHost = thisHost(),
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
  if (host.platform === 'linux') {
    const env = { env: host.env, home: host.home, execPath: host.execPath };
    return { get: () => isAutostartEnabled(env), set: (on) => setAutostart(env, on) };
  }
  if (host.platform === 'win32') return windowsLoginItem(app, host.execPath);
  // macOS: SMAppService registers the app itself; it takes no arguments (Electron ignores
  // `args` there), and the app opens no window at start anyway.
  return {
    get: () => app.getLoginItemSettings().openAtLogin,
    set: (on) => app.setLoginItemSettings({ openAtLogin: on }),
  };
}

function windowsLoginItem(
  app: Pick<App, 'getLoginItemSettings' | 'setLoginItemSettings'>,
  execPath: string,
): LoginItem {
  const path = `"${execPath}"`;
  const args = ['--hidden'];
  // Ours in HKCU, whatever their name (an earlier build named its value after the product).
  const ours = () =>
    (app.getLoginItemSettings({ path, args }).launchItems ?? []).filter((i) => i.scope === 'user');
  return {
    get: () => ours().some((i) => i.enabled),
    set: (on) => {
      if (on) {
        // `enabled` (the default) also clears a "disabled" mark Task Manager may have left.
        app.setLoginItemSettings({ openAtLogin: true, path, args, name: APP_USER_MODEL_ID });
        return;
      }
      for (const i of ours()) app.setLoginItemSettings({ openAtLogin: false, name: i.name });
    },
  };
}
