// Core state → the plain view data the IPC contract carries. No decisions here: the
// broker, token store and config decide; this only shapes what the windows show.
import type { ApprovalBroker, Grant, PendingRequest } from '../core/approval/approval-broker.js';
import type { AuditRecord } from '../core/approval/audit.js';
import { clientText, decisionText } from '../core/approval/audit-events.js';
import type { Config } from '../core/config/config.js';
import { formatHostPort } from '../core/host-port.js';
import { programScopeText } from '../core/approval/program-scope.js';
import { headline } from '../core/approval/request-view.js';
import { grantLabel, programGrantLabel, requestSummary } from '../core/approval/request-summary.js';
import { tokenState, type TokenRecord } from '../core/approval/token-store.js';
import type {
  ActivityRecordView,
  GrantView,
  PromptView,
  QueueView,
  SettingsView,
  TokenView,
} from '../ipc-contract.js';

export function promptView(
  r: PendingRequest,
  queue: readonly PendingRequest[],
  grantMinutes: number,
): PromptView {
  const s = requestSummary(r);
  return {
    id: r.id,
    group: r.group,
    headline: headline(r.description),
    kindLabel: s.kindLabel,
    question: s.question,
    client: s.client,
    clientNote: s.clientNote,
    keyName: s.keyName,
    keyType: s.keyType,
    details: s.details,
    grantLabel: grantLabel(r, grantMinutes),
    programGrantLabel: programGrantLabel(r, grantMinutes),
    receivedAt: r.receivedAt,
    deadline: r.deadline,
    groupOthers: queue
      .filter((q) => q.group === r.group && q.id !== r.id)
      .map((q) => ({ id: q.id, headline: headline(q.description) })),
  };
}

/** `sentAt` is on the broker's clock, the one its deadlines are on, so countdowns agree. */
export function queueView(broker: ApprovalBroker, now = broker.now()): QueueView {
  const q = broker.queue();
  const grantMinutes = Math.round(broker.grantMs / 60_000);
  return {
    prompts: q.map((r) => promptView(r, q, grantMinutes)),
    grantMinutes,
    sentAt: now,
  };
}

export function activityRecordView(r: AuditRecord): ActivityRecordView {
  return {
    time: r.time,
    client: clientText(r),
    what: r.what ?? '—',
    key: r.key ?? '—',
    namespace: r.namespace ?? '—',
    decision: r.decision === 'none' ? '—' : decisionText(r),
    outcome: r.outcome,
    status: r.status,
    kind: r.kind ?? 'request',
    program: r.program ?? (r.programPending ? 'not known yet (not waited for)' : null),
    claim: r.claim ?? null,
  };
}

export function grantView(g: Grant): GrantView {
  return {
    id: g.id,
    client: g.client.name,
    key: `${g.keyLabel} ${g.fingerprint}`,
    namespace: g.namespace,
    expiresAt: g.expiresAt,
    uses: g.uses,
    maxUses: g.maxUses,
    ...(g.program ? { program: programScopeText(g.program) } : {}),
  };
}

export function tokenView(t: TokenRecord, now = Date.now()): TokenView {
  const state = tokenState(t, now);
  return {
    name: t.name,
    state,
    createdAt: t.createdAt,
    expiresAt: t.expiresAt,
    keys: t.keys,
    namespaces: t.namespaces,
    gitOnly: t.gitOnly,
  };
}

export function settingsView(config: Config, startAtLogin: boolean): SettingsView {
  const shadowed: Record<string, string> = {};
  for (const [k, origin] of Object.entries(config.origin)) {
    if (origin.startsWith('SSH_AGENT_PROXY_') || origin.startsWith('--')) shadowed[k] = origin;
  }
  return {
    startAtLogin,
    denyWhenLocked: config.denyWhenLocked,
    approval: config.approval,
    grantMinutes: config.grantMinutes,
    approvalTimeoutSeconds: Math.round(config.approvalTimeout / 1000),
    addr: formatHostPort(config.addr.host, config.addr.port),
    allowedHosts: config.allowedHosts,
    upstream: config.upstream ?? '',
    pubkey: config.pubkey ?? '',
    namespaces: config.namespaces,
    shadowed,
    configDir: config.configDir,
  };
}
