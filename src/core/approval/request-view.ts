// How a pending request reads to a person, as labelled lines: shared by the terminal
// prompter, the tray window (which gets these lines over IPC) and notifications. Every
// value passes through displayText here, whatever its source — the description is
// already clean, but key comments come raw from the agent and names from clients.
import type { PendingRequest } from './approval-broker.js';
import { sshLoginText, type Description, type Person } from './describe.js';
import { displayText } from '../display-text.js';
import { describePeer } from '../peer/peer-process.js';

export interface ViewLine {
  label: string;
  value: string;
}

const short = (id: string) => id.slice(0, 10);
const who = (p: Person) => `${p.name} <${p.email}>`;
const line = (label: string, value: string, max = 300): ViewLine => ({
  label,
  value: displayText(value, max),
});

/** What the person is asked to approve, as a prompt's title. */
export function promptTitle(d: Description): string {
  return d.kind === 'ssh-auth' ? 'Approve SSH login?' : 'Approve signature?';
}

/** What a grant given on this request covers, in a few words. */
export function grantScope(d: Description): string {
  return d.kind === 'ssh-auth' ? 'this client, key, destination' : 'this client, key, namespace';
}

/** The headline: what is being signed, in a few words. */
export function headline(d: Description): string {
  switch (d.kind) {
    case 'commit':
      return displayText(`Sign git commit "${d.subject}"`, 200);
    case 'tag':
      return displayText(`Sign git tag ${d.tag}`, 200);
    case 'push-cert':
      return 'Sign a git push certificate';
    case 'data':
      return `Sign ${d.size} bytes of ${d.text ? 'text' : 'data'}`;
    case 'ssh-auth':
      return sshLoginText(d);
  }
}

export function detailLines(d: Description): ViewLine[] {
  switch (d.kind) {
    case 'commit':
      return [
        line('Author', who(d.author)),
        ...(who(d.committer) !== who(d.author) ? [line('Committer', who(d.committer))] : []),
        line('Tree', short(d.tree)),
        line(
          d.parents.length > 1 ? 'Parents' : 'Parent',
          d.parents.length ? d.parents.map(short).join(' ') : '(root commit)',
        ),
        ...d.mergetags.map((t) =>
          line(
            'Merges tag',
            `${t.tag} (${t.objectType} ${short(t.object)})${t.tagger ? ` by ${who(t.tagger)}` : ''}`,
          ),
        ),
        ...(d.encoding
          ? [line('Encoding', `${d.encoding} (shown converted, as git log does)`)]
          : []),
        ...(d.otherHeaders.length ? [line('Other headers', d.otherHeaders.join(', '))] : []),
      ];
    case 'tag':
      return [
        line('Object', `${d.objectType} ${short(d.object)} (as the tag states)`),
        ...(d.tagger ? [line('Tagger', who(d.tagger))] : []),
        ...(d.subject ? [line('Message', d.subject)] : []),
        ...(d.otherHeaders.length ? [line('Other headers', d.otherHeaders.join(', '))] : []),
      ];
    case 'push-cert':
      return [
        line('Pusher', d.pusher),
        ...(d.pushee ? [line('To', d.pushee)] : []),
        ...d.updates.map((u) => line('Update', `${u.ref} ${short(u.old)}→${short(u.new)}`)),
        ...(d.moreUpdates ? [line('Update', `…and ${d.moreUpdates} more`)] : []),
      ];
    case 'data':
      return [line('SHA-256', d.sha256)];
    case 'ssh-auth':
      return [
        line('Login', `${d.user} (${d.algorithm})`),
        line(
          'Host',
          d.destination === 'known'
            ? (d.host ?? '')
            : d.destination === 'hashed'
              ? 'in known_hosts under a hashed name'
              : d.destination === 'unknown'
                ? 'unknown host (not in known_hosts)'
                : 'unverified (not bound to a host key)',
        ),
        ...(d.hostKey ? [line('Host key', d.hostKey)] : []),
        ...(d.forwarded ? [line('Forwarded', 'yes: through an ssh -A hop')] : []),
      ];
  }
}

export function requestLines(r: PendingRequest): ViewLine[] {
  const comment = displayText(r.key.comment, 100);
  return [
    line(
      'From',
      r.client.tokenName ? `${r.client.name} (token, ${r.client.address})` : r.client.name,
    ),
    // As the host saw it: information, not who the client is.
    ...(r.client.program ? [line('Program', describePeer(r.client.program))] : []),
    // The file the kernel mapped: the one thing of it a process cannot name for itself.
    ...(r.client.program?.exe ? [line('Executable', r.client.program.exe)] : []),
    // The sandbox's word only: marked so, never mistaken for what the host saw.
    ...(r.client.claim
      ? [line('Sandbox says', `${r.client.claim} (its own claim, unverified)`)]
      : []),
    ...detailLines(r.description),
    line('Key', `${displayText(r.key.label, 40)}${comment ? ` · ${comment}` : ''}`),
    line('Fingerprint', r.key.fingerprint),
    // An SSH login's grant is scoped to its destination, shown as such.
    r.description.kind === 'ssh-auth'
      ? line('Grant scope', `this destination (${r.namespace})`)
      : line('Namespace', r.namespace),
  ];
}
