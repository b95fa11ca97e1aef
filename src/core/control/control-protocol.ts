// The control channel's protocol: one JSON object per line each way, one answer per
// request, in order. It lets a second terminal (`ssh-agent-proxy grants`, `… pause`) and
// the console's own keys do what the tray menu does: list and revoke grants, pause and
// resume signing. It never approves anything: every op here takes permission away, or
// restores the state where each request is asked about again (resume).
import type { ApprovalBroker, Grant } from '../approval/approval-broker.js';
import { programScopeText } from '../approval/program-scope.js';
import { cleanLogger, type Logger } from '../logger.js';

export type ControlRequest =
  | { op: 'status' }
  | { op: 'grants' }
  | { op: 'revoke'; id: string }
  | { op: 'pause' }
  | { op: 'resume' };

export interface GrantSummary {
  id: string;
  /** The first characters of the id: enough to name it when revoking. */
  short: string;
  client: string;
  key: string;
  fingerprint: string;
  namespace: string;
  expiresAt: string;
  uses: number;
  maxUses: number | null;
  /** A program-scoped grant's program: `git (/usr/bin/git)`; absent for a client-wide one. */
  program?: string;
}

export interface ControlStatus {
  paused: boolean;
  policy: string;
  pending: number;
  grants: GrantSummary[];
}

/** Which proxy acted: there may be more than one with the same config dir. */
export interface ProxyIdentity {
  /** Where it listens for sandboxes, e.g. http://127.0.0.1:7221 */
  url: string;
  pid: number;
}

export type ControlAnswer =
  | ({ ok: true } & ControlStatus & { revoked?: GrantSummary; proxy?: ProxyIdentity })
  | { ok: false; error: string };

/** Longest request line accepted; a longer one is refused and the connection closed. */
export const MAX_LINE_BYTES = 4096;
/** A revoke names a grant by its id or a prefix of it at least this long. */
export const MIN_ID_PREFIX = 4;
const SHORT_ID = 8;

export function summarizeGrant(g: Grant): GrantSummary {
  return {
    id: g.id,
    short: g.id.slice(0, SHORT_ID),
    client: g.client.name,
    key: g.keyLabel,
    fingerprint: g.fingerprint,
    namespace: g.namespace,
    expiresAt: new Date(g.expiresAt).toISOString(),
    uses: g.uses,
    maxUses: g.maxUses,
    ...(g.program ? { program: programScopeText(g.program) } : {}),
  };
}

/** One line for people: id, who, which key, where, until when, uses. */
export function formatGrant(s: GrantSummary, now: number): string {
  const left = Math.max(0, Math.ceil((Date.parse(s.expiresAt) - now) / 60_000));
  const uses = s.maxUses === null ? `${s.uses} used` : `${s.uses} of ${s.maxUses} used`;
  const who = s.program ? `${s.client} running ${s.program} only` : s.client;
  return `${s.short}  ${who} · ${s.key} ${s.fingerprint} · ${s.namespace} · ${left} min left · ${uses}`;
}

export function statusOf(broker: ApprovalBroker): ControlStatus {
  return {
    paused: broker.paused,
    policy: broker.policy,
    pending: broker.queue().length,
    grants: broker.grants().map(summarizeGrant),
  };
}

/** The grant `ref` names (its id, or a prefix of it naming exactly one), or why not. */
export function findGrant(grants: readonly Grant[], ref: string): Grant | string {
  if (ref.length < MIN_ID_PREFIX)
    return `bad-request: give at least ${MIN_ID_PREFIX} characters of the grant's id`;
  const hits = grants.filter((g) => g.id.startsWith(ref.toLowerCase()));
  if (hits.length === 1) return hits[0]!;
  if (hits.length === 0)
    return `no-such-grant: no live grant has the id ${ref} (it may have expired)`;
  return `ambiguous-id: ${hits.length} grants start with ${ref}; give more of the id`;
}

function parse(line: string): ControlRequest | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return 'bad-request: each request is one JSON object on one line, e.g. {"op":"status"}';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    return 'bad-request: each request is one JSON object on one line, e.g. {"op":"status"}';
  const o = v as Record<string, unknown>;
  switch (o.op) {
    case 'status':
    case 'grants':
    case 'pause':
    case 'resume':
      return { op: o.op };
    case 'revoke':
      if (typeof o.id !== 'string' || !/^[0-9a-f-]{1,64}$/i.test(o.id))
        return 'bad-request: revoke needs "id", a grant id (ssh-agent-proxy grants lists them)';
      return { op: 'revoke', id: o.id };
    default:
      return 'bad-request: unknown op; expected status, grants, revoke, pause or resume';
  }
}

/**
 * Answer one request line. `via` says where it came from, for the log (the person acted,
 * from the console's keys or from another terminal).
 */
export function answerControl(
  line: string,
  broker: ApprovalBroker,
  log: Logger,
  via: string,
): ControlAnswer {
  const req = parse(line);
  if (typeof req === 'string') return { ok: false, error: req };
  return applyControl(req, broker, log, via);
}

/** Carry out one request (from the channel, or from the console's own keys). */
export function applyControl(
  req: ControlRequest,
  broker: ApprovalBroker,
  log: Logger,
  via: string,
): ControlAnswer {
  log = cleanLogger(log); // one clean line each, as every core log line
  let revoked: GrantSummary | undefined;
  if (req.op === 'pause') {
    if (!broker.paused) log.warn(`signing paused (${via}); every request is refused until resumed`);
    broker.setPaused(true);
  } else if (req.op === 'resume') {
    if (broker.paused) log.info(`signing resumed (${via})`);
    broker.setPaused(false);
  } else if (req.op === 'revoke') {
    const g = findGrant(broker.grants(), req.id);
    if (typeof g === 'string') return { ok: false, error: g };
    revoked = summarizeGrant(g);
    broker.revokeGrant(g.id);
    log.info(
      `grant ${revoked.short} revoked (${via}): ${revoked.client}, ${revoked.fingerprint}, ${revoked.namespace}`,
    );
  }
  return { ok: true, ...statusOf(broker), ...(revoked ? { revoked } : {}) };
}
