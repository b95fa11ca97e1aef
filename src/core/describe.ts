// What is being signed, for the person approving it. Derived only from the exact bytes
// that will be hashed, so what is shown is what is signed. Any input — binary, huge,
// invalid UTF-8, control characters, bidi overrides — gives a bounded, printable result.
import { createHash } from 'node:crypto';

export interface Person {
  name: string;
  email: string;
  /** Seconds since the epoch as the object states it, if parseable. */
  time?: number;
}

export type Description =
  | {
      kind: 'commit';
      objectFormat: 'sha1' | 'sha256';
      tree: string;
      parents: string[];
      author: Person;
      committer: Person;
      subject: string;
      bodyBytes: number;
      size: number;
      sha256: string;
    }
  | {
      kind: 'tag';
      object: string;
      objectType: string;
      tag: string;
      tagger?: Person;
      subject: string;
      size: number;
      sha256: string;
    }
  | {
      kind: 'push-cert';
      pusher: string;
      pushee?: string;
      updates: { ref: string; old: string; new: string }[];
      moreUpdates: number;
      size: number;
      sha256: string;
    }
  | { kind: 'data'; size: number; sha256: string; text: boolean };

const LIMIT = { name: 80, email: 120, subject: 160, ref: 160, updates: 20, header: 64 * 1024 };

/**
 * Make untrusted text safe to show: no control characters, no bidi overrides or other
 * invisible formatting (a name could otherwise reorder what the person reads), bounded.
 */
export function safeText(s: string, max: number): string {
  const cleaned = s
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
    .replace(/[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  const chars = [...cleaned];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : cleaned;
}

const HEX40 = /^[0-9a-f]{40}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const IDENT = /^(.*?) <([^<>]*)> (\d{1,15}) [+-]\d{4}$/;

function person(value: string): Person | null {
  const m = IDENT.exec(value);
  if (!m) return null;
  return {
    name: safeText(m[1] as string, LIMIT.name),
    email: safeText(m[2] as string, LIMIT.email),
    time: Number(m[3]),
  };
}

/** Split a git object into header lines (with continuation lines folded away) and message. */
function splitObject(text: string): { headers: [string, string][]; message: string } | null {
  const end = text.indexOf('\n\n');
  const head = end === -1 ? text : text.slice(0, end);
  if (head.length > LIMIT.header) return null;
  const headers: [string, string][] = [];
  for (const line of head.split('\n')) {
    if (line.startsWith(' ')) continue; // continuation of a multi-line header (mergetag, gpgsig)
    const sp = line.indexOf(' ');
    if (sp <= 0) return null;
    headers.push([line.slice(0, sp), line.slice(sp + 1)]);
  }
  return { headers, message: end === -1 ? '' : text.slice(end + 2) };
}

function subjectOf(message: string): string {
  const para = message.split('\n\n')[0] ?? '';
  return safeText(para.replace(/\n/g, ' '), LIMIT.subject);
}

function describeCommit(headers: [string, string][], message: string) {
  const [first, ...rest] = headers;
  if (!first || first[0] !== 'tree') return null;
  const format = HEX40.test(first[1]) ? 'sha1' : HEX64.test(first[1]) ? 'sha256' : null;
  if (!format) return null;
  const id = format === 'sha1' ? HEX40 : HEX64;
  const parents: string[] = [];
  let i = 0;
  while (rest[i]?.[0] === 'parent') {
    if (!id.test(rest[i]![1])) return null;
    parents.push(rest[i]![1]);
    i++;
  }
  const author = rest[i]?.[0] === 'author' ? person(rest[i]![1]) : null;
  const committer = rest[i + 1]?.[0] === 'committer' ? person(rest[i + 1]![1]) : null;
  if (!author || !committer) return null;
  return {
    objectFormat: format,
    tree: first[1],
    parents,
    author,
    committer,
    subject: subjectOf(message),
    bodyBytes: Buffer.byteLength(message),
  } as const;
}

function describeTag(headers: [string, string][], message: string) {
  const get = (k: string) => headers.find(([h]) => h === k)?.[1];
  const object = get('object');
  const objectType = get('type');
  const tag = get('tag');
  if (
    headers[0]?.[0] !== 'object' ||
    !object ||
    !(HEX40.test(object) || HEX64.test(object)) ||
    !objectType ||
    !tag
  )
    return null;
  const taggerRaw = get('tagger');
  const tagger = taggerRaw ? person(taggerRaw) : undefined;
  if (taggerRaw && !tagger) return null;
  return {
    object,
    objectType: safeText(objectType, 20),
    tag: safeText(tag, LIMIT.ref),
    ...(tagger ? { tagger } : {}),
    subject: subjectOf(message),
  };
}

function describePushCert(text: string) {
  if (!text.startsWith('certificate version ')) return null;
  const split = splitObject(text);
  if (!split) return null;
  const get = (k: string) => split.headers.find(([h]) => h === k)?.[1];
  const pusher = get('pusher');
  if (!pusher) return null;
  const pushee = get('pushee');
  const lines = split.message.split('\n').filter(Boolean);
  const updates = [];
  for (const line of lines) {
    const [old, neu, ref] = line.split(' ');
    if (!old || !neu || !ref) return null;
    if (updates.length < LIMIT.updates)
      updates.push({ old: old.slice(0, 64), new: neu.slice(0, 64), ref: safeText(ref, LIMIT.ref) });
  }
  // `pusher` is an ident for GPG ("Name <email> ts tz") and the key fingerprint for SSH.
  const who = person(pusher);
  const bare = pusher.replace(/ \d{1,15} [+-]\d{4}$/, '');
  return {
    pusher: who ? `${who.name} <${who.email}>` : safeText(bare, LIMIT.name + LIMIT.email),
    ...(pushee ? { pushee: safeText(pushee, 200) } : {}),
    updates,
    moreUpdates: Math.max(0, lines.length - LIMIT.updates),
  };
}

function looksLikeText(bytes: Buffer): boolean {
  const sample = bytes.subarray(0, 4096);
  return !sample.includes(0) && Buffer.from(sample.toString('utf8'), 'utf8').equals(sample);
}

export function describe(bytes: Buffer): Description {
  const size = bytes.length;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  // Git objects are text with no NUL; anything else is opaque data.
  if (size > 0 && !bytes.includes(0)) {
    const text = bytes.toString('utf8');
    const push = describePushCert(text);
    if (push) return { kind: 'push-cert', ...push, size, sha256 };
    const split = splitObject(text);
    if (split) {
      const commit = describeCommit(split.headers, split.message);
      if (commit) return { kind: 'commit', ...commit, size, sha256 };
      const tag = describeTag(split.headers, split.message);
      if (tag) return { kind: 'tag', ...tag, size, sha256 };
    }
  }
  return { kind: 'data', size, sha256, text: looksLikeText(bytes) };
}

export function isGitObject(d: Description): boolean {
  return d.kind !== 'data';
}

const short = (id: string) => id.slice(0, 7);

/** One line for logs, the audit trail and notifications. */
export function summarize(d: Description): string {
  switch (d.kind) {
    case 'commit':
      return `git commit "${d.subject}" by ${d.author.name} <${d.author.email}> (tree ${short(d.tree)}${d.parents.length ? `, parent ${d.parents.map(short).join(' ')}` : ', root'})`;
    case 'tag':
      return `git tag ${d.tag} on ${d.objectType} ${short(d.object)}${d.tagger ? ` by ${d.tagger.name} <${d.tagger.email}>` : ''}`;
    case 'push-cert':
      return `git push certificate by ${d.pusher}${d.pushee ? ` to ${d.pushee}` : ''} (${d.updates.length + d.moreUpdates} ref update${d.updates.length + d.moreUpdates === 1 ? '' : 's'})`;
    case 'data':
      return `${d.size} bytes of ${d.text ? 'text' : 'data'} (sha256 ${d.sha256.slice(0, 16)}…)`;
  }
}
