// Who the app is to Windows: the AppUserModelID that the MSI's Start menu shortcut carries
// (electron-builder writes electron-builder.yml's appId into it), without which Windows may
// drop our toasts; and the name of our value under HKCU\…\Run for "Start at login".
import type { App } from 'electron';

/** Must equal `appId` in electron-builder.yml (test/unit/main-adapters.test.ts checks it). */
export const APP_USER_MODEL_ID = 'dev.sshagentproxy.tray';
/** The Run key value's name: the product name, as Task Manager's Startup tab shows it. */
export const LOGIN_ITEM_NAME = 'SSH Agent Proxy';

export function applyAppIdentity(
  app: Pick<App, 'setAppUserModelId'>,
  platform: NodeJS.Platform,
): void {
  if (platform === 'win32') app.setAppUserModelId(APP_USER_MODEL_ID);
}
