// Core changes → renderer events. Main wires this to webContents.send; the renderer
// tests wire the same feed into a page, so both see the same events.
import type { RunningProxy } from '../core/proxy.js';
import type { ActivityView, EventChannel, RendererListens } from '../ipc-contract.js';
import type { AgentStatus } from './agent-status.js';
import { activityRecordView, grantView, queueView } from './view-models.js';

export type Send = <E extends EventChannel>(channel: E, payload: RendererListens[E]) => void;

export function activityView(proxy: RunningProxy, status: AgentStatus): ActivityView {
  return {
    status: status.view(),
    records: proxy.recent().slice(-100).reverse().map(activityRecordView),
    grants: proxy.broker.grants().map(grantView),
  };
}

/** Subscribe; returns an unsubscribe function. */
export function feedEvents(proxy: RunningProxy, status: AgentStatus, send: Send): () => void {
  const offs = [
    proxy.broker.onChange(() => {
      send('approval:queue-changed', queueView(proxy.broker));
      send('activity:changed', activityView(proxy, status));
    }),
    proxy.onActivity(() => {
      send('activity:changed', activityView(proxy, status));
      void status.refresh();
    }),
    status.onChange(() => send('activity:changed', activityView(proxy, status))),
    proxy.onAuditStatus(() => send('activity:changed', activityView(proxy, status))),
  ];
  return () => offs.forEach((off) => off());
}
