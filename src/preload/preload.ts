// The only door between a window and main. Runs sandboxed (contextIsolation, sandbox):
// it may require only electron's renderer modules, so it is bundled into one file. It
// exposes two functions, and only for the channels the contract names.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import {
  BRIDGE_KEY,
  EVENT_CHANNELS,
  HANDLE_CHANNELS,
  type BridgeApi,
  type EventChannel,
  type HandleChannel,
} from '../ipc-contract.js';

const handles: readonly string[] = HANDLE_CHANNELS;
const events: readonly string[] = EVENT_CHANNELS;

const api: BridgeApi = {
  invoke(channel: HandleChannel, ...args: unknown[]) {
    if (!handles.includes(channel))
      return Promise.reject(new Error(`unknown channel ${String(channel)}`));
    return ipcRenderer.invoke(channel, ...args);
  },
  on(channel: EventChannel, listener: (payload: never) => void) {
    if (!events.includes(channel)) throw new Error(`unknown event ${String(channel)}`);
    // Never hand the renderer the event object: it carries `sender`.
    const wrapped = (_event: IpcRendererEvent, payload: unknown) => listener(payload as never);
    ipcRenderer.on(channel, wrapped);
    return () => void ipcRenderer.removeListener(channel, wrapped);
  },
} as BridgeApi;

contextBridge.exposeInMainWorld(BRIDGE_KEY, api);
