// Registers the IPC handlers with Electron's ipcMain, accepting only known channels and
// only from our own windows showing our own pages. Typed against electron's types; the
// ipcMain object is passed in, so this file loads no electron at run time.
import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import { HANDLE_CHANNELS } from '../ipc-contract.js';
import { isFileUrlInside } from './file-url.js';
import type { Logger } from '../core/logger.js';
import { IpcPayloadError, type Handlers } from './ipc-handlers.js';

export interface SenderPolicy {
  /** webContents ids of the app's own windows. */
  isOwnWindow(webContentsId: number): boolean;
  /** The folder our pages load from (…/dist/renderer), a path on this OS. */
  pagesDir: string;
  /** Whose path rules apply (Windows: drive letters and case do not matter). */
  platform: NodeJS.Platform;
}

export function isTrustedSender(
  e: Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>,
  policy: SenderPolicy,
): boolean {
  const url = e.senderFrame?.url ?? '';
  return policy.isOwnWindow(e.sender.id) && isFileUrlInside(url, policy.pagesDir, policy.platform);
}

export function registerIpc(
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>,
  handlers: Handlers,
  policy: SenderPolicy,
  log: Logger,
): () => void {
  for (const channel of HANDLE_CHANNELS) {
    ipcMain.handle(channel, async (e, payload: unknown) => {
      if (!isTrustedSender(e, policy)) {
        log.warn(`IPC ${channel} refused: sender is not one of this app's windows`);
        throw new Error('refused');
      }
      try {
        return await handlers[channel](payload, { senderId: e.sender.id });
      } catch (err) {
        if (err instanceof IpcPayloadError) {
          log.warn(`IPC ${channel} refused: ${err.message}`);
          throw new Error(`bad payload: ${err.message}`, { cause: err });
        }
        throw err;
      }
    });
  }
  return () => HANDLE_CHANNELS.forEach((c) => ipcMain.removeHandler(c));
}
