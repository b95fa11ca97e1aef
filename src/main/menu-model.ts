// The tray menu as data, from state. Pure (tested in Node); tray-app.ts turns it into an
// Electron Menu and maps each action to what it does.
import type { PromptView, StatusView } from '../ipc-contract.js';

export type MenuAction =
  | 'show-approval'
  | 'open-activity'
  | 'toggle-pause'
  | 'toggle-login'
  | 'open-settings'
  | 'open-logs'
  | 'quit';

export type MenuItemModel =
  | { type: 'separator' }
  | { type: 'normal'; label: string; action?: MenuAction; enabled: boolean }
  | { type: 'checkbox'; label: string; action: MenuAction; checked: boolean };

export interface MenuState {
  status: StatusView;
  prompts: readonly PromptView[];
  startAtLogin: boolean;
}

const MAX_PENDING_SHOWN = 5;

export function statusLine(s: StatusView): string {
  const where = s.url.replace(/^http:\/\//, '');
  if (!s.agentPath) return `Listening on ${where} · no agent found`;
  if (!s.agentReachable) return `Listening on ${where} · agent unreachable`;
  return `Listening on ${where} · agent: ${s.keyCount} key${s.keyCount === 1 ? '' : 's'}`;
}

export function menuModel(m: MenuState): MenuItemModel[] {
  const items: MenuItemModel[] = [{ type: 'normal', label: statusLine(m.status), enabled: false }];
  if (m.status.paused) items.push({ type: 'normal', label: 'Signing is paused', enabled: false });
  if (!m.status.auditWritable)
    items.push({
      type: 'normal',
      label: 'Audit log cannot be written · signing refused',
      enabled: false,
    });
  items.push({ type: 'separator' });
  if (m.prompts.length > 0) {
    items.push({
      type: 'normal',
      label: `${m.prompts.length} waiting for approval — show…`,
      action: 'show-approval',
      enabled: true,
    });
    for (const p of m.prompts.slice(0, MAX_PENDING_SHOWN)) {
      const text = `  ${p.client}: ${p.headline}`;
      items.push({
        type: 'normal',
        label: text.length > 70 ? `${text.slice(0, 69)}…` : text,
        action: 'show-approval',
        enabled: true,
      });
    }
    if (m.prompts.length > MAX_PENDING_SHOWN)
      items.push({
        type: 'normal',
        label: `  …and ${m.prompts.length - MAX_PENDING_SHOWN} more`,
        action: 'show-approval',
        enabled: true,
      });
    items.push({ type: 'separator' });
  }
  items.push(
    { type: 'normal', label: 'Recent activity…', action: 'open-activity', enabled: true },
    { type: 'checkbox', label: 'Pause signing', action: 'toggle-pause', checked: m.status.paused },
    { type: 'checkbox', label: 'Start at login', action: 'toggle-login', checked: m.startAtLogin },
    { type: 'normal', label: 'Settings…', action: 'open-settings', enabled: true },
    { type: 'normal', label: 'Open logs folder', action: 'open-logs', enabled: true },
    { type: 'separator' },
    { type: 'normal', label: 'Quit SSH Agent Proxy', action: 'quit', enabled: true },
  );
  return items;
}
