// The audit trail: one record per decision (a /sign request or an SSH login) — who asked,
// with which key, in which namespace, what (a summary), who decided what, and how it ended
// — and one per event that changes who may sign: a grant given, a token created, revoked
// or expired, the trail itself unwritable or back. Never the signed bytes, never a token.
// The sink (a rotated file) is supplied by the shell.
import { readFileSync } from 'node:fs';
import { displayText } from '../display-text.js';
import { clientText, decisionText } from './audit-events.js';

export interface AuditRecord {
  time: string;
  id: string;
  client: string;
  /** The program that asked, as the host saw it (`git (pid 1234) ← bash`), where known. */
  program?: string | null;
  /**
   * The lookup of the program had not ended when the record was written: no person was
   * asked, so the request did not wait for it (program then null).
   */
  programPending?: true;
  /** What the sandbox said runs it (unverified), where it said. */
  claim?: string | null;
  remote: string;
  key: string | null;
  namespace: string | null;
  what: string | null;
  decision: 'allowed' | 'denied' | 'none';
  decidedBy: string | null;
  status: number;
  outcome: string;
  ms: number;
  /** The token's stable id beside its name (a re-created name is another client); null without one. */
  clientId?: string | null;
  /** What the line records; absent (older lines) means `request`. */
  kind?: AuditKind;
  /** A person's answer, when a person decided: allow once, allow for a while (a grant), deny. */
  answer?: 'allow-once' | 'allow-for-grant' | 'deny' | null;
  /** The grant's id: the one this answer gave, or the one used. */
  grant?: string | null;
}
const ANSWERS = ['allow-once', 'allow-for-grant', 'deny'] as const;

/**
 * request: a decision on a signature or login. grant, token: an event that changes who may
 * sign (`outcome` says which: grant-given, token-created, token-revoked, token-expired).
 * refusals: a count of requests refused before anyone decided (a summary per source and
 * interval, kept apart so no flood displaces decisions). audit: the trail itself
 * (audit-unavailable, audit-resumed).
 */
export type AuditKind = 'request' | 'grant' | 'token' | 'refusals' | 'audit';
const KINDS: readonly AuditKind[] = ['request', 'grant', 'token', 'refusals', 'audit'];

export interface AuditSink {
  /**
   * Write a record. A promise resolves once the write has returned (the decision's answer
   * waits for it) and rejects when it failed; a plain return counts as written.
   */
  write(record: AuditRecord): void | Promise<void>;
  /** Resolves when every queued record is on disk (a clean shutdown awaits it). */
  flush?(): Promise<void>;
}

export const nullAudit: AuditSink = { write() {} };

const TEXT_MAX = 600;
const text = (v: unknown): string => displayText(typeof v === 'string' ? v : String(v), TEXT_MAX);
const textOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : text(v));

/**
 * The record with every text field made display-safe (display-text.ts): what is written
 * to the trail, shown in the tray's activity and printed by `audit` is one clean line
 * per field, whatever a client put into a name or a commit.
 */
export function cleanAuditRecord(r: AuditRecord): AuditRecord {
  return {
    time: text(r.time),
    id: text(r.id),
    client: text(r.client),
    ...(r.program ? { program: text(r.program) } : {}),
    ...(r.programPending === true && !r.program ? { programPending: true as const } : {}),
    ...(r.claim ? { claim: text(r.claim) } : {}),
    remote: text(r.remote),
    key: textOrNull(r.key),
    namespace: textOrNull(r.namespace),
    what: textOrNull(r.what),
    decision: r.decision === 'allowed' || r.decision === 'denied' ? r.decision : 'none',
    decidedBy: textOrNull(r.decidedBy),
    status: Number.isInteger(r.status) ? r.status : 0,
    outcome: text(r.outcome),
    ms: Number.isFinite(r.ms) ? r.ms : 0,
    clientId: textOrNull(r.clientId),
    kind: KINDS.includes(r.kind as AuditKind) ? r.kind : 'request',
    answer: ANSWERS.find((a) => a === r.answer) ?? null,
    grant: textOrNull(r.grant),
  };
}

/** Parse audit lines leniently: a damaged line is skipped, not fatal; text comes back clean. */
export function parseAuditLines(text: string): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const rec = JSON.parse(line) as AuditRecord;
      if (rec && typeof rec === 'object' && typeof rec.time === 'string')
        out.push(cleanAuditRecord(rec));
    } catch {
      // skip
    }
  }
  return out;
}

/** The newest `n` records from the current file and its rotated predecessors (oldest first). */
export function readAudit(files: readonly string[], n: number): AuditRecord[] {
  const all: AuditRecord[] = [];
  for (const f of files) {
    try {
      all.push(...parseAuditLines(readFileSync(f, 'utf8')));
    } catch {
      // missing rotated file: fine
    }
  }
  all.sort((a, b) => a.time.localeCompare(b.time));
  return all.slice(-n);
}

export function formatAudit(record: AuditRecord): string {
  const r = cleanAuditRecord(record);
  const when = r.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const decision = decisionText(r);
  // The token's id (its first 8 characters) beside its name: a re-created name is another token.
  const client = clientText(r);
  if (r.kind !== 'request')
    return [when, r.outcome, client, r.key ?? '-', r.namespace ?? '-', r.what ?? '-'].join('  ');
  return [
    when,
    `${r.status} ${r.outcome}`,
    decision,
    client,
    r.key ?? '-',
    r.namespace ?? '-',
    r.what ?? '-',
    `${r.ms} ms`,
    ...(r.program ? [`program: ${r.program}`] : []),
    ...(r.programPending && !r.program ? ['program: not known yet (not waited for)'] : []),
    ...(r.claim ? [`sandbox says: ${r.claim}`] : []),
  ].join('  ');
}
