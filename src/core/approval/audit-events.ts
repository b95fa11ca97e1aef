// What the audit says, precisely: how a decision was made (a person's answer — once, or
// giving a grant — a grant used, a policy, an expired or a revoked token), and the events
// that change who may sign: a grant given (its scope in words, its expiry, by which
// answer), a token created, revoked or expired (by its id beside its name).
import { randomUUID } from 'node:crypto';
import type { Decision, DecidedBy, Grant } from './approval-broker.js';
import type { AuditRecord } from './audit.js';
import { tokenId, type TokenRecord } from './token-store.js';
import { programScopeText } from './program-scope.js';

/** The fields of a request's record that say who decided, and how. */
export function decisionFields(
  d: Decision | null | undefined,
): Pick<AuditRecord, 'decision' | 'decidedBy' | 'answer' | 'grant'> {
  if (!d) return { decision: 'none', decidedBy: null, answer: null, grant: null };
  const grant = d.allowed ? (d.grantId ?? null) : null;
  let answer: AuditRecord['answer'] = null;
  if (d.by === 'person') answer = !d.allowed ? 'deny' : grant ? 'allow-for-grant' : 'allow-once';
  return { decision: d.allowed ? 'allowed' : 'denied', decidedBy: d.by, answer, grant };
}

const BY_WORDS: Record<DecidedBy, string> = {
  person: 'person',
  grant: 'grant',
  policy: 'policy',
  timeout: 'timeout (no answer in time)',
  shutdown: 'proxy shutting down',
  cancelled: 'requester hanging up',
  'no-approver': 'no approver attached',
  revoked: 'token revoked',
  expired: 'token expired',
  'screen-locked': 'screen locked',
};

const shortId = (id: string) => `#${id.slice(0, 8)}`;

/** "allowed by person: allow once", "allowed by grant #1a2b3c4d", "denied by token expired". */
export function decisionText(r: AuditRecord): string {
  if (r.decision === 'none') return '-';
  const by = r.decidedBy ?? '';
  const words = BY_WORDS[by as DecidedBy] ?? by;
  const grant = r.grant ? shortId(r.grant) : '';
  if (r.answer === 'allow-once') return `${r.decision} by ${words}: allow once`;
  if (r.answer === 'allow-for-grant')
    return `${r.decision} by ${words}: allow for a while (gave grant ${grant})`;
  if (r.answer === 'deny') return `${r.decision} by ${words}: deny`;
  if (by === 'grant' && grant) return `${r.decision} by grant ${grant}`;
  return `${r.decision} by ${words}`;
}

/** The client as the audit shows it: its name, and a token's id beside it. */
export function clientText(r: Pick<AuditRecord, 'client' | 'clientId'>): string {
  return r.clientId ? `${r.client} ${shortId(r.clientId)}` : r.client;
}

const event = (
  fields: Pick<AuditRecord, 'client' | 'clientId' | 'outcome' | 'what' | 'kind'> &
    Partial<AuditRecord>,
): AuditRecord => ({
  time: new Date().toISOString(),
  id: randomUUID(),
  remote: '',
  key: null,
  namespace: null,
  decision: 'none',
  decidedBy: null,
  status: 0,
  ms: 0,
  ...fields,
});

/** A grant a person gave: its scope in words, until when, for how many signatures, by which answer. */
export function grantGivenRecord(g: Grant): AuditRecord {
  const minutes = Math.round((g.expiresAt - g.createdAt) / 60_000);
  const uses = g.maxUses === null ? 'any number of signatures' : `at most ${g.maxUses} signatures`;
  return event({
    client: g.client.name,
    clientId: g.client.token?.id ?? null,
    remote: g.client.address,
    key: g.fingerprint,
    namespace: g.namespace,
    outcome: 'grant-given',
    kind: 'grant',
    decision: 'allowed',
    decidedBy: 'person',
    answer: 'allow-for-grant',
    grant: g.id,
    ...(g.program ? { program: programScopeText(g.program) } : {}),
    what: `grant ${shortId(g.id)} given by the answer "allow${g.program ? ` ${g.program.name}` : ''} for ${minutes} minutes": ${g.client.name}${g.program ? ` running ${programScopeText(g.program)} only` : ''} with key ${g.keyLabel} ${g.fingerprint} in "${g.namespace}", until ${new Date(g.expiresAt).toISOString()}, ${uses}`,
  });
}

export type TokenEvent = 'token-created' | 'token-revoked' | 'token-expired';

/** A token's life: created (with its limits), revoked (and from where), expired. */
export function tokenEventRecord(e: TokenEvent, t: TokenRecord, where: string): AuditRecord {
  const limits = [
    t.keys.length ? `keys ${t.keys.join(', ')}` : 'any key',
    t.namespaces.length ? `namespaces ${t.namespaces.join(', ')}` : 'any namespace',
    ...(t.gitOnly ? ['git objects only'] : []),
    t.expiresAt ? `expires ${t.expiresAt}` : 'no expiry',
  ].join('; ');
  const what =
    e === 'token-created'
      ? `token created ${where}: ${limits}`
      : e === 'token-revoked'
        ? `token revoked ${where}; its grants and pending prompts end`
        : `token expired at ${t.expiresAt}; its grants and pending prompts end`;
  return event({ client: t.name, clientId: tokenId(t), outcome: e, kind: 'token', what });
}
