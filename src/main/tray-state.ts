// Which tray icon and tooltip the current state calls for. Pure, tested in Node.
import { join } from 'node:path';
import type { StatusView } from '../ipc-contract.js';

export type TrayState = 'idle' | 'waiting' | 'paused' | 'unreachable';

/** Waiting for you outranks everything: it is the one state that needs the person. */
export function trayState(s: Pick<StatusView, 'pending' | 'paused' | 'agentReachable'>): TrayState {
  if (s.pending > 0) return 'waiting';
  if (s.paused) return 'paused';
  if (!s.agentReachable) return 'unreachable';
  return 'idle';
}

/**
 * The icon file: macOS template images (the menu bar tints them; Electron picks @2x),
 * a multi-size .ico on Windows, a PNG (with @2x) elsewhere.
 */
export function trayIconPath(
  assetsDir: string,
  state: TrayState,
  platform: NodeJS.Platform,
): string {
  if (platform === 'darwin') return join(assetsDir, `tray-${state}Template.png`);
  if (platform === 'win32') return join(assetsDir, `tray-${state}.ico`);
  return join(assetsDir, `tray-${state}.png`);
}

export function trayTooltip(state: TrayState, s: Pick<StatusView, 'pending' | 'url'>): string {
  switch (state) {
    case 'waiting':
      return `SSH Agent Proxy — ${s.pending} request${s.pending === 1 ? '' : 's'} waiting for you`;
    case 'paused':
      return 'SSH Agent Proxy — signing paused';
    case 'unreachable':
      return 'SSH Agent Proxy — agent unreachable';
    case 'idle':
      return `SSH Agent Proxy — ${s.url}`;
  }
}
