// Who the app is to Windows: the AppUserModelID that the MSI's Start menu shortcut carries
// (electron-builder writes electron-builder.yml's appId into it), without which Windows may
// drop our toasts. It also names our value under HKCU\…\Run for "Start at login", the name
// Electron itself reads back (see login-item.ts).
import type { App } from 'electron';

/** Must equal `appId` in electron-builder.yml (test/unit/main-adapters.test.ts checks it). */
export const APP_USER_MODEL_ID = 'dev.sshagentproxy.tray';

export function applyAppIdentity(
  app: Pick<App, 'setAppUserModelId'>,
  platform: NodeJS.Platform,
): void {
  if (platform === 'win32') app.setAppUserModelId(APP_USER_MODEL_ID);
}
