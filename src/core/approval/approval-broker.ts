// The approval gate. The broker owns policy, pause, grants, the pending queue, groups and
// deadlines; prompters (tray window, terminal) are only views of its queue and answer
// through it. Every decision says who made it.
import { randomUUID } from 'node:crypto';
import { GrantBook, type Grant } from './grants.js';
import type { Description } from './describe.js';

export type { Grant } from './grants.js';
import type { ClientInfo } from './client.js';
import { programKind } from '../peer/peer-process.js';
import { realClock, type Clock } from '../clock.js';
import { ProxyError } from '../errors.js';
import { allowsUnattended } from './unattended-allow.js';
import { inProgramScope, programScope } from './program-scope.js';

export { realClock, type Clock } from '../clock.js';

export type Policy = 'prompt' | 'allow' | 'deny';
/** allow-program-for-grant: a grant scoped to the asking program's executable (program-scope.ts). */
export type Answer = 'allow-once' | 'allow-for-grant' | 'allow-program-for-grant' | 'deny';
export type DecidedBy =
  | 'person'
  | 'grant'
  | 'policy'
  | 'timeout'
  | 'shutdown'
  | 'cancelled'
  | 'no-approver'
  | 'revoked'
  | 'expired'
  | 'screen-locked';

export interface KeyInfo {
  fingerprint: string;
  type: string;
  comment: string;
  /** e.g. `ED25519`, `RSA 3072` */
  label: string;
}

export interface PendingRequest {
  id: string;
  client: ClientInfo;
  key: KeyInfo;
  namespace: string;
  description: Description;
  receivedAt: number;
  deadline: number;
  /** client + key + namespace: requests a grant would cover, answerable together. */
  group: string;
}

export type Decision =
  | { allowed: true; by: 'person' | 'grant' | 'policy'; grantId?: string }
  | { allowed: false; by: DecidedBy; error: ProxyError };

export interface Prompter {
  /** Called whenever the queue changes (oldest first). */
  update(queue: readonly PendingRequest[]): void;
}

export interface BrokerOptions {
  policy: Policy;
  timeoutMs: number;
  grantMs: number;
  /** 0 = unlimited */
  grantMaxUses: number;
  maxPending: number;
  maxPendingPerClient: number;
  /**
   * Policy `allow` decides for tokenless clients too (SSH_AGENT_PROXY_ALLOW_ANY_LOCAL_PROCESS);
   * off by default, so they are asked.
   */
  allowAnyLocalProcess?: boolean;
  clock?: Clock;
  /** Told of each grant a person gives, before the requests it allows are answered (the audit). */
  onGrantGiven?: (grant: Grant) => void;
}

export interface BrokerState {
  policy: Policy;
  paused: boolean;
  pending: number;
  grants: number;
}

interface Waiter {
  req: PendingRequest;
  resolve: (d: Decision) => void;
  cancelTimer: () => void;
  detachAbort: () => void;
}

/**
 * Keyed on the client's stable id (a token's id, never its name), and on the program as the
 * person sees it (name, executable, parent names, container; not pids): a group answer then
 * covers only requests that read alike, never another program's that queued beside them.
 * This only splits groups — it never joins what the client, key and namespace keep apart.
 */
export function groupOf(client: ClientInfo, fingerprint: string, namespace: string): string {
  return JSON.stringify([client.id, fingerprint, namespace, programKind(client.program)]);
}

const deny = (by: DecidedBy, status: number, code: string, msg: string): Decision => ({
  allowed: false,
  by,
  error: new ProxyError(status, code, msg),
});

export class ApprovalBroker {
  private readonly clock: Clock;
  private readonly waiting = new Map<string, Waiter>();
  private readonly grantBook: GrantBook;
  private readonly prompters = new Set<Prompter>();
  private readonly listeners = new Set<() => void>();
  private policyValue: Policy;
  private pausedValue = false;
  private stopped = false;

  constructor(private readonly opts: BrokerOptions) {
    this.clock = opts.clock ?? realClock;
    this.policyValue = opts.policy;
    this.grantBook = new GrantBook(
      () => this.clock.now(),
      () => ({ ms: this.opts.grantMs, maxUses: this.opts.grantMaxUses }),
    );
  }

  // ----- views and state ---------------------------------------------------------------

  attach(p: Prompter): () => void {
    this.prompters.add(p);
    p.update(this.queue());
    return () => this.prompters.delete(p);
  }

  get hasPrompter(): boolean {
    return this.prompters.size > 0;
  }

  /** Listen for any state change (queue, grants, pause, policy). */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The broker's clock: the time its deadlines are measured on. */
  now(): number {
    return this.clock.now();
  }

  queue(): PendingRequest[] {
    return [...this.waiting.values()].map((w) => w.req).sort((a, b) => a.receivedAt - b.receivedAt);
  }

  state(): BrokerState {
    return {
      policy: this.policyValue,
      paused: this.pausedValue,
      pending: this.waiting.size,
      grants: this.grants().length,
    };
  }

  private changed(): void {
    const q = this.queue();
    for (const p of this.prompters) p.update(q);
    for (const fn of this.listeners) fn();
  }

  get policy(): Policy {
    return this.policyValue;
  }

  setPolicy(p: Policy): void {
    this.policyValue = p;
    this.changed();
  }

  setTimeouts(t: { timeoutMs?: number; grantMs?: number }): void {
    if (t.timeoutMs) this.opts.timeoutMs = t.timeoutMs;
    if (t.grantMs) this.opts.grantMs = t.grantMs;
    this.changed();
  }

  get grantMs(): number {
    return this.opts.grantMs;
  }

  get paused(): boolean {
    return this.pausedValue;
  }

  /** Paused: every request is refused with 503 until resumed; pending ones are denied. */
  setPaused(paused: boolean): void {
    this.pausedValue = paused;
    if (paused)
      this.denyWhere(() => true, 'policy', 503, 'signing-paused', 'signing is paused on the host');
    this.changed();
  }

  // ----- grants --------------------------------------------------------------------------

  grants(): Grant[] {
    return this.grantBook.all();
  }

  revokeGrant(id: string): boolean {
    const ok = this.grantBook.revoke(id);
    if (ok) this.changed();
    return ok;
  }

  /** A token that was revoked or expired loses its grants and its pending prompts at once. */
  revokeToken(tokenId: string, code: 'token-revoked' | 'token-expired' = 'token-revoked'): void {
    this.grantBook.revokeToken(tokenId);
    this.denyWhere(
      (r) => r.client.token?.id === tokenId,
      code === 'token-expired' ? 'expired' : 'revoked',
      401,
      code,
      code === 'token-expired' ? 'the client token expired' : 'the client token was revoked',
    );
    this.changed();
  }

  // ----- decisions -----------------------------------------------------------------------

  /** Refusals that need no key: paused, deny policy, shutting down. */
  precheck(): Decision | null {
    if (this.stopped) return deny('shutdown', 503, 'shutting-down', 'the proxy is shutting down');
    if (this.pausedValue)
      return deny('policy', 503, 'signing-paused', 'signing is paused on the host');
    if (this.policyValue === 'deny')
      return deny('policy', 403, 'policy-deny', 'the approval policy denies every request');
    return null;
  }

  /**
   * A decision that needs no person: policy allow (for a client it covers) or a live grant
   * (which is then used).
   */
  decideWithoutPrompt(client: ClientInfo, key: KeyInfo, namespace: string): Decision | null {
    const pre = this.precheck();
    if (pre) return pre;
    if (
      this.policyValue === 'allow' &&
      allowsUnattended(client, this.opts.allowAnyLocalProcess === true)
    )
      return { allowed: true, by: 'policy' };
    const g = this.grantBook.find(client, key.fingerprint, namespace);
    if (!g || !this.grantBook.use(g)) return null;
    this.changed();
    return { allowed: true, by: 'grant', grantId: g.id };
  }

  /**
   * The full decision: without a prompt if possible, else queue for a person. Resolves
   * when decided; the requester hanging up (`signal`) cancels the prompt.
   */
  decide(
    client: ClientInfo,
    key: KeyInfo,
    namespace: string,
    description: Description,
    signal?: AbortSignal,
  ): Promise<Decision> {
    const quick = this.decideWithoutPrompt(client, key, namespace);
    if (quick) return Promise.resolve(quick);
    if (!this.hasPrompter) {
      return Promise.resolve(
        deny(
          'no-approver',
          403,
          'no-approver',
          'approval is required but no one can be asked (no tray window or terminal); see SSH_AGENT_PROXY_APPROVAL',
        ),
      );
    }
    if (this.waiting.size >= this.opts.maxPending) {
      throw new ProxyError(
        429,
        'too-many-pending',
        `${this.waiting.size} requests are already waiting for approval`,
        { 'Retry-After': '5' },
      );
    }
    const mine = [...this.waiting.values()].filter((w) => w.req.client.id === client.id).length;
    if (mine >= this.opts.maxPendingPerClient) {
      throw new ProxyError(
        429,
        'too-many-pending',
        `this client already has ${mine} requests waiting for approval`,
        { 'Retry-After': '5' },
      );
    }
    const now = this.clock.now();
    const req: PendingRequest = {
      id: randomUUID(),
      client,
      key,
      namespace,
      description,
      receivedAt: now,
      deadline: now + this.opts.timeoutMs,
      group: groupOf(client, key.fingerprint, namespace),
    };
    return new Promise<Decision>((resolve) => {
      const cancelTimer = this.clock.setTimer(
        () =>
          this.settle(
            req.id,
            deny(
              'timeout',
              403,
              'timed-out',
              `no one answered the approval prompt within ${Math.round(this.opts.timeoutMs / 1000)} s`,
            ),
          ),
        this.opts.timeoutMs,
      );
      const onAbort = () =>
        this.settle(req.id, deny('cancelled', 499, 'cancelled', 'the requester hung up'));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.set(req.id, {
        req,
        resolve,
        cancelTimer,
        detachAbort: () => signal?.removeEventListener('abort', onAbort),
      });
      this.changed();
      if (signal?.aborted) onAbort();
    });
  }

  private settle(id: string, d: Decision, notify = true): boolean {
    const w = this.waiting.get(id);
    if (!w) return false;
    this.waiting.delete(id);
    w.cancelTimer();
    w.detachAbort();
    w.resolve(d);
    if (notify) this.changed();
    return true;
  }

  private denyWhere(
    pred: (r: PendingRequest) => boolean,
    by: DecidedBy,
    status: number,
    code: string,
    msg: string,
  ): void {
    for (const w of [...this.waiting.values()])
      if (pred(w.req)) this.settle(w.req.id, deny(by, status, code, msg), false);
  }

  /**
   * A person's answer to one request, or to exactly the requests they were shown (`ids`:
   * a view lists a group's subjects before offering to answer them together). The first
   * answer wins: ids no longer pending are skipped, and it returns false when none is.
   * "Allow for N minutes" creates a grant from the first request (so it covers later
   * requests of that client, key and namespace) and allows the listed ones — a request
   * that joined the group after the person looked stays pending for them to see.
   * "Allow <program> for N minutes" does the same with a grant scoped to the first
   * request's executable; it returns false (and answers nothing) when that has none.
   */
  answer(target: { id: string } | { ids: readonly string[] }, answer: Answer): boolean {
    const ids = 'id' in target ? [target.id] : target.ids;
    const targets = [...new Set(ids)]
      .map((id) => this.waiting.get(id)?.req)
      .filter((r): r is PendingRequest => !!r);
    if (targets.length === 0) return false;
    if (answer === 'deny') {
      for (const r of targets)
        this.settle(
          r.id,
          deny('person', 403, 'denied-by-user', 'the request was denied in the approval prompt'),
          false,
        );
    } else if (answer === 'allow-once') {
      for (const r of targets) this.settle(r.id, { allowed: true, by: 'person' }, false);
    } else {
      const first = targets[0]!;
      // A program-scoped grant needs a program the host saw, with its executable; a view
      // offers it only then, and an answer that asks for one anyway changes nothing.
      const scope =
        answer === 'allow-program-for-grant' ? programScope(first.client.program) : undefined;
      if (answer === 'allow-program-for-grant' && !scope) return false;
      const g = this.grantBook.add(first.client, first.key, first.namespace, scope);
      this.opts.onGrantGiven?.({ ...g });
      for (const r of targets) {
        if (r.group !== first.group || (scope && !inProgramScope(scope, r.client.program))) {
          this.settle(r.id, { allowed: true, by: 'person' }, false);
          continue;
        }
        if (!this.grantBook.use(g)) break;
        this.settle(r.id, { allowed: true, by: 'person', grantId: g.id }, false);
      }
    }
    this.changed();
    return true;
  }

  /** Deny without a person, e.g. while the screen is locked; says who in the decision. */
  autoDeny(id: string, by: DecidedBy, code: string, message: string): boolean {
    return this.settle(id, deny(by, 403, code, message));
  }

  /** Stop: pending requests are denied `shutting-down`, grants end. */
  shutdown(): void {
    this.stopped = true;
    this.denyWhere(() => true, 'shutdown', 503, 'shutting-down', 'the proxy is shutting down');
    this.grantBook.clear();
    this.changed();
  }
}
