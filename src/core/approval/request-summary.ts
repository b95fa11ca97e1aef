// A pending request as the approval window and its notification put it to a person: a
// question with the verb of its kind ("Log in to github.com as git?", "Sign commit …?",
// "Sign data …?") that says what happens, who asks and with which key — the three facts a
// person decides on — and the rest (tree, parents, namespace, fingerprints) as secondary lines. Decided
// here, in core, so the window, the notification and their tests share one wording.
import { programScope, programScopeText } from './program-scope.js';
import type { PendingRequest } from './approval-broker.js';
import type { Description, SshLoginDescription } from './describe.js';
import { detailLines } from './request-view.js';
import { displayText } from '../display-text.js';
import { describePeer, peerDetails } from '../peer/peer-process.js';

export type RequestKind = 'commit' | 'tag' | 'push-cert' | 'data' | 'login';

export interface SummaryLine {
  label: string;
  value: string;
  /** A fingerprint: shown monospace on one line, shortened, the whole one on hover/expand. */
  fingerprint?: true;
}

export interface RequestSummary {
  kind: RequestKind;
  /** The window's small header, e.g. "Commit signature". */
  kindLabel: string;
  /** The question the buttons answer, with the verb of its kind. */
  question: string;
  /** Who asks: the token's name, or `local` plus the address. */
  client: string;
  /** How the client is known, e.g. "token, from 172.17.0.2"; empty for anonymous callers. */
  clientNote: string;
  /** Which key: its comment, else its type. */
  keyName: string;
  /** e.g. `ED25519`, `RSA 3072` */
  keyType: string;
  /** Everything else, for a second look. */
  details: SummaryLine[];
}

const clip = (s: string, max: number) => displayText(s, max);

function kindOf(d: Description): RequestKind {
  return d.kind === 'ssh-auth' ? 'login' : d.kind;
}

const KIND_LABEL: Record<RequestKind, string> = {
  commit: 'Commit signature',
  tag: 'Tag signature',
  'push-cert': 'Push certificate signature',
  data: 'Data signature',
  login: 'SSH login',
};

/** Where a login goes, as a person reads it: the host's name, or what is known of it. */
export function loginDestination(d: SshLoginDescription): string {
  switch (d.destination) {
    case 'known':
      return clip(d.host ?? '', 120);
    case 'hashed':
      return 'a host known_hosts lists under a hashed name';
    case 'unknown':
      return 'an unknown host';
    case 'unbound':
      return 'an unverified host';
  }
}

/** The question the window asks, with the verb of the request's kind. */
export function requestQuestion(d: Description): string {
  switch (d.kind) {
    case 'commit':
      return clip(`Sign commit "${d.subject}"?`, 200);
    case 'tag':
      return clip(`Sign tag ${d.tag}?`, 200);
    case 'push-cert':
      return d.pushee
        ? clip(`Sign push certificate for ${d.pushee}?`, 200)
        : 'Sign push certificate?';
    case 'data':
      return `Sign data: ${d.size} bytes of ${d.text ? 'text' : 'binary data'}?`;
    case 'ssh-auth':
      return clip(`Log in to ${loginDestination(d)} as ${d.user}?`, 200);
  }
}

/** The kind's own details, fingerprints marked; the login's host key stays out of the headline. */
function secondary(r: PendingRequest): SummaryLine[] {
  const d = r.description;
  // The program first, as the host saw it (information, not who asks): its one line, then
  // where it runs from — the executable the kernel mapped, directory, parents with pids.
  const p = r.client.program;
  const lines: SummaryLine[] = [
    ...(p
      ? [
          { label: 'Program', value: clip(describePeer(p), 300) },
          ...peerDetails(p).map((l) => ({ label: l.label, value: clip(l.value, 300) })),
        ]
      : []),
    ...detailLines(d).map((l) =>
      l.label === 'Host key' ? { ...l, fingerprint: true as const } : l,
    ),
  ];
  if (d.kind === 'ssh-auth' && d.destination === 'known') {
    // The host is already the question; its line would only repeat it.
    const i = lines.findIndex((l) => l.label === 'Host');
    if (i >= 0) lines.splice(i, 1);
  }
  lines.push({ label: 'Key', value: clip(r.key.fingerprint, 80), fingerprint: true });
  lines.push(
    d.kind === 'ssh-auth'
      ? { label: 'Grant scope', value: clip(`this destination (${r.namespace})`, 300) }
      : { label: 'Namespace', value: clip(r.namespace, 100) },
  );
  return lines;
}

export function requestSummary(r: PendingRequest): RequestSummary {
  const comment = clip(r.key.comment, 100);
  const keyType = clip(r.key.label, 40);
  return {
    kind: kindOf(r.description),
    kindLabel: KIND_LABEL[kindOf(r.description)],
    question: requestQuestion(r.description),
    client: clip(r.client.name, 100),
    clientNote: r.client.tokenName ? clip(`token, from ${r.client.address}`, 100) : '',
    keyName: comment || keyType,
    keyType,
    details: secondary(r),
  };
}

/**
 * The grant button, its scope stated: who, with which key, for what, how long. A login's
 * grant covers its destination; a signature's, its namespace (git's is the usual one).
 */
export function grantLabel(r: PendingRequest, minutes: number): string {
  const who = clip(r.client.name, 60);
  const d = r.description;
  const what =
    d.kind === 'ssh-auth'
      ? ` to log in to ${loginDestination(d)}`
      : r.namespace === 'git'
        ? ''
        : ` to sign "${clip(r.namespace, 40)}" data`;
  return `Allow ${who}${what} with this key for ${minutes} minutes`;
}

/**
 * The program-scoped grant's words, its scope stated: "Allow git (/usr/bin/git) with this
 * key for 10 minutes"; null when the host read no executable for the program (not offered).
 */
export function programGrantLabel(r: PendingRequest, minutes: number): string | null {
  const scope = programScope(r.client.program);
  if (!scope) return null;
  const d = r.description;
  const what =
    d.kind === 'ssh-auth'
      ? ` to log in to ${loginDestination(d)}`
      : r.namespace === 'git'
        ? ''
        : ` to sign "${clip(r.namespace, 40)}" data`;
  return `Allow ${clip(programScopeText(scope), 120)}${what} with this key for ${minutes} minutes`;
}

/** A notification for a request that arrived while the window was not on screen. */
export function requestNotification(
  r: PendingRequest,
  waiting: number,
): { title: string; body: string } {
  const s = requestSummary(r);
  const more = waiting > 1 ? ` · ${waiting} waiting` : '';
  // The program as the host saw it, short: its name and its parent's (`bash ← git`).
  const p = r.client.program;
  const program = p
    ? ` · ${clip([p.name, ...p.parents.slice(0, 1).map((q) => q.name)].join(' ← '), 60)}`
    : '';
  return { title: s.question, body: `Asked by ${s.client}${program} · key ${s.keyName}${more}` };
}
