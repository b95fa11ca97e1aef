// How a pending request reads to a person, as labelled lines: shared by the terminal
// prompter and the tray window (which gets these lines over IPC, already safe text).
import type { PendingRequest } from './approval-broker.js';
import type { Description, Person } from './describe.js';

export interface ViewLine {
  label: string;
  value: string;
}

const short = (id: string) => id.slice(0, 10);
const who = (p: Person) => `${p.name} <${p.email}>`;

/** The headline: what is being signed, in a few words. */
export function headline(d: Description): string {
  switch (d.kind) {
    case 'commit':
      return `Sign git commit "${d.subject}"`;
    case 'tag':
      return `Sign git tag ${d.tag}`;
    case 'push-cert':
      return 'Sign a git push certificate';
    case 'data':
      return `Sign ${d.size} bytes of ${d.text ? 'text' : 'data'}`;
  }
}

export function detailLines(d: Description): ViewLine[] {
  switch (d.kind) {
    case 'commit':
      return [
        { label: 'Author', value: who(d.author) },
        ...(who(d.committer) !== who(d.author)
          ? [{ label: 'Committer', value: who(d.committer) }]
          : []),
        { label: 'Tree', value: short(d.tree) },
        {
          label: d.parents.length > 1 ? 'Parents' : 'Parent',
          value: d.parents.length ? d.parents.map(short).join(' ') : '(root commit)',
        },
      ];
    case 'tag':
      return [
        { label: 'Object', value: `${d.objectType} ${short(d.object)}` },
        ...(d.tagger ? [{ label: 'Tagger', value: who(d.tagger) }] : []),
        ...(d.subject ? [{ label: 'Message', value: d.subject }] : []),
      ];
    case 'push-cert':
      return [
        { label: 'Pusher', value: d.pusher },
        ...(d.pushee ? [{ label: 'To', value: d.pushee }] : []),
        ...d.updates.map((u) => ({
          label: 'Update',
          value: `${u.ref} ${short(u.old)}→${short(u.new)}`,
        })),
        ...(d.moreUpdates ? [{ label: 'Update', value: `…and ${d.moreUpdates} more` }] : []),
      ];
    case 'data':
      return [{ label: 'SHA-256', value: d.sha256 }];
  }
}

export function requestLines(r: PendingRequest): ViewLine[] {
  return [
    {
      label: 'From',
      value: r.client.tokenName ? `${r.client.name} (token, ${r.client.address})` : r.client.name,
    },
    ...detailLines(r.description),
    {
      label: 'Key',
      value: `${r.key.label}${r.key.comment ? ` · ${r.key.comment}` : ''}`,
    },
    { label: 'Fingerprint', value: r.key.fingerprint },
    { label: 'Namespace', value: r.namespace },
  ];
}
