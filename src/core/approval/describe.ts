// What is being signed, for the person approving it. Derived only from the exact bytes
// that will be hashed, so what is shown is what is signed. Any input — binary, huge,
// invalid UTF-8, control characters, bidi overrides — gives a bounded, printable result.
//
// Bytes that git itself would read as a commit (they start "tree <id>\n", as
// parse_commit_buffer requires) or as a tag ("object <id>\n", as parse_tag_buffer
// requires) are described the way git shows them — `git log --format=%an/%cn/%s` for
// commits, `git for-each-ref --format=%(taggername)/%(subject)/%(tag)/%(type)` for tags,
// with the `encoding` header applied as git's log does — or refused with 422 when git
// has no single reading to show: a second author/committer/tagger header (git log names
// the last, for-each-ref the first), headers out of git's order, a payload that already
// carries a signature, an encoding we cannot decode as git would. Everything else is
// opaque data (size and SHA-256), or a push certificate.
import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import { TextDecoder } from 'node:util';
import { displayText, scanBudget } from '../display-text.js';
import { ProxyError } from '../errors.js';

export interface Person {
  name: string;
  email: string;
  /** Seconds since the epoch as the object states it. */
  time?: number;
}

export interface MergedTag {
  tag: string;
  objectType: string;
  object: string;
  tagger?: Person;
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
      /** The `encoding` header when it names something other than UTF-8. */
      encoding?: string;
      /** Signed tags embedded by `git merge` of a tag (`mergetag` headers). */
      mergetags: MergedTag[];
      /** Names of headers git does not show (kept visible here: they are signed too). */
      otherHeaders: string[];
      size: number;
      sha256: string;
    }
  | {
      kind: 'tag';
      object: string;
      /** The type the tag states for its object (`type` header). */
      objectType: string;
      tag: string;
      tagger?: Person;
      subject: string;
      otherHeaders: string[];
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
  | { kind: 'data'; size: number; sha256: string; text: boolean }
  | SshLoginDescription;

/**
 * An SSH login the agent endpoint is asked to sign (agent-endpoint/describe-login.ts),
 * from the userauth request in the signed bytes and the connection's verified
 * session-bind; the host name comes from the person's known_hosts, never from the client.
 */
export interface SshLoginDescription {
  kind: 'ssh-auth';
  /** The account on the server, as the signed request names it. */
  user: string;
  /** The signature algorithm the login uses, e.g. ssh-ed25519 or rsa-sha2-512. */
  algorithm: string;
  /**
   * known: named by known_hosts (`host`); hashed: in known_hosts under a hashed name no
   * candidate matched; unknown: not in known_hosts; unbound: the client proved no host.
   */
  destination: 'known' | 'hashed' | 'unknown' | 'unbound';
  /** The names known_hosts gives the host key, joined with ", " (null unless known). */
  host: string | null;
  /** SHA256 fingerprint of the verified host key (null when unbound). */
  hostKey: string | null;
  /** The agent connection was bound as forwarded (an `ssh -A` hop). */
  forwarded: boolean;
  size: number;
  sha256: string;
}

const LIMIT = {
  name: 80,
  email: 120,
  subject: 160,
  ref: 160,
  updates: 20,
  header: 64 * 1024,
  headerNames: 8,
};

// --- refusals -----------------------------------------------------------------------

function ambiguous(what: string, sentence: string): never {
  throw new ProxyError(
    422,
    'ambiguous-git-object',
    `the ${what} ${sentence}; git shows such an object differently in different places, so it cannot be described faithfully`,
  );
}
function malformed(what: string, sentence: string): never {
  throw new ProxyError(
    422,
    'malformed-git-object',
    `the ${what} ${sentence}, which git never writes; refusing to sign what cannot be shown as git shows it`,
  );
}
function alreadySigned(what: string, sentence: string): never {
  throw new ProxyError(
    422,
    'git-object-already-signed',
    `the ${what} ${sentence}; git strips signatures before verifying, so a signature over it would not mean what the prompt shows`,
  );
}

// --- git's header syntax ------------------------------------------------------------

interface Header {
  key: string;
  value: string;
  /** Continuation lines (each had one leading space, removed here). */
  more: string[];
}

interface Split {
  headers: Header[];
  /** Text after the first empty line ('' when there is none). */
  message: string;
}

/**
 * Split a git object into headers and message as git does: the header ends at the first
 * empty line (or at the end, which must then be a newline); a line starting with a space
 * continues the previous header (mergetag, gpgsig).
 */
function splitObject(text: string, what: string): Split {
  const end = text.indexOf('\n\n');
  let head: string;
  let message = '';
  if (end === -1) {
    if (!text.endsWith('\n')) malformed(what, 'header does not end with a newline');
    head = text.slice(0, -1);
  } else {
    head = text.slice(0, end);
    message = text.slice(end + 2);
  }
  if (head.length > LIMIT.header) malformed(what, `header is longer than ${LIMIT.header} bytes`);
  const headers: Header[] = [];
  for (const line of head.split('\n')) {
    if (line.startsWith(' ')) {
      const last = headers[headers.length - 1];
      if (!last) malformed(what, 'header starts with a continuation line');
      last.more.push(line.slice(1));
      continue;
    }
    const sp = line.indexOf(' ');
    if (sp <= 0) malformed(what, 'header has a line that is not "name value"');
    headers.push({ key: line.slice(0, sp), value: line.slice(sp + 1), more: [] });
  }
  return { headers, message };
}

// fsck_ident: "Name <email> seconds ±hhmm", no '<' or '>' in name or email, no zero padding.
const IDENT = /^([^<>]*) <([^<>]*)> (0|[1-9][0-9]{0,14}) [+-][0-9]{4}$/;

/** An identity header, read as git's split_ident_line does (%an, %ae, %(taggername)). */
function person(h: Header, what: string): Person {
  if (h.more.length) malformed(what, `${h.key} header continues onto another line`);
  const m = IDENT.exec(h.value);
  if (!m) malformed(what, `${h.key} header is not "Name <email> time zone"`);
  return {
    name: displayText(m[1] as string, LIMIT.name),
    email: displayText(m[2] as string, LIMIT.email),
    time: Number(m[3]),
  };
}

const OBJECT_ID = /^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/;
const COMMIT_START = /^tree (?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})\n/;
const TAG_START = /^object (?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})\n/;
const OBJECT_TYPES = new Set(['commit', 'tree', 'blob', 'tag']);
const SIGNATURE_HEADERS = new Set(['gpgsig', 'gpgsig-sha256']);
// gpg-interface.c: a line starting with one of these begins a tag's signature.
const SIGNATURE_START = [
  '-----BEGIN PGP SIGNATURE-----',
  '-----BEGIN PGP MESSAGE-----',
  '-----BEGIN SIGNED MESSAGE-----',
  '-----BEGIN SSH SIGNATURE-----',
];

function otherHeaderNames(headers: Header[]): string[] {
  const names = [...new Set(headers.map((h) => displayText(h.key, 40)))];
  return names.length > LIMIT.headerNames
    ? [...names.slice(0, LIMIT.headerNames), `…${names.length - LIMIT.headerNames} more`]
    : names;
}

// --- subjects, as each git command computes them ------------------------------------

/** Drop trailing characters of `set` (a loop: a regex anchored at $ is quadratic here). */
function trimEnd(s: string, set: string): string {
  let end = s.length;
  while (end > 0 && set.includes(s[end - 1] as string)) end--;
  return s.slice(0, end);
}

// displayText(subject) depends only on this much of it (and on whether there is more), so
// a multi-megabyte message is read only that far — with the same result as reading it all.
const SUBJECT_NEED = scanBudget(LIMIT.subject) + 1;
const GIT_NONSPACE = /[^ \t\n\r]/; // git's isspace(): space, tab, LF, CR
const NOT_CRLF = /[^\r\n]/;

/** pretty.c `%s`: skip blank lines, then join the lines up to the next blank line. */
function logSubject(message: string): string {
  const parts: string[] = [];
  let length = 0;
  let started = false;
  // Blank lines before the subject, however many, are skipped in one native search.
  const first = message.search(GIT_NONSPACE);
  if (first === -1) return '';
  for (
    let pos = message.lastIndexOf('\n', first) + 1;
    pos < message.length && length < SUBJECT_NEED;
  ) {
    let eol = message.indexOf('\n', pos);
    if (eol === -1) eol = message.length;
    const line = message.slice(pos, eol);
    pos = eol + 1;
    if (!GIT_NONSPACE.test(line)) {
      if (started) break; // a blank line ends the subject
      continue; // blank lines before it are skipped, however many
    }
    started = true;
    // The line with trailing white space dropped (is_blank_line), read only as far as needed.
    const kept =
      line.length > SUBJECT_NEED && GIT_NONSPACE.test(line.slice(SUBJECT_NEED))
        ? line.slice(0, SUBJECT_NEED)
        : trimEnd(line.slice(0, SUBJECT_NEED), ' \t\r');
    parts.push(kept);
    length += kept.length + 1;
  }
  return displayText(parts.join(' '), LIMIT.subject);
}

/**
 * ref-filter.c `%(subject)`: skip empty lines, take text up to the first "\n\n" (else
 * "\r\n\r\n"), or to the signature; CR of CRLF dropped, newlines become spaces.
 */
function refSubject(message: string): string {
  const body = message.replace(/^\n+/, '');
  let end = body.indexOf('\n\n');
  if (end === -1) end = body.indexOf('\r\n\r\n');
  if (end === -1) end = body.length;
  // CRLF → one character, so twice the need in raw text is enough.
  const need = SUBJECT_NEED * 2;
  const sub =
    end > need && NOT_CRLF.test(body.slice(need, end))
      ? body.slice(0, need)
      : trimEnd(body.slice(0, Math.min(end, need)), '\r\n');
  return displayText(sub.replace(/\r\n/g, '\n').replace(/\n/g, ' '), LIMIT.subject);
}

// --- commits --------------------------------------------------------------------------

// Encodings whose WHATWG decoder (fatal mode) gives what glibc's iconv gives git's log —
// proven byte by byte in test/integration/describe-git.test.ts. Others (Shift_JIS, where
// iconv maps 0x5C to YEN SIGN; windows-125x, where iconv rejects unmapped bytes) are refused.
const SINGLE_BYTE = /^(?:iso[-_]?8859-(?:[2-8]|1[03-6])|koi8-[ru])$/;

/** Decoder for a commit's `encoding` header, or null when git's reading cannot be matched. */
function decoderFor(label: string): ((bytes: Buffer) => string) | null {
  const l = label.trim().toLowerCase();
  if (l === 'utf-8' || l === 'utf8') return (b) => b.toString('utf8');
  // WHATWG maps these labels to windows-1252; iconv's ISO-8859-1 is the identity on bytes.
  if (['iso-8859-1', 'iso8859-1', 'iso_8859-1', 'latin1', 'l1'].includes(l))
    return (b) => b.toString('latin1');
  if (!SINGLE_BYTE.test(l)) return null;
  const decoder = new TextDecoder(l.replace(/^iso[-_]?8859/, 'iso-8859'), { fatal: true });
  return (b) => decoder.decode(b);
}

/** The commit's text as git's log reads it: converted from its `encoding` header. */
function decodeCommit(bytes: Buffer, label: string | undefined): string {
  if (label === undefined) return bytes.toString('utf8');
  const decode = decoderFor(label);
  try {
    if (decode) return decode(bytes);
  } catch {
    // not decodable as declared: git would show raw bytes; refuse below
  }
  throw new ProxyError(
    422,
    'unsupported-git-encoding',
    `the commit declares encoding "${displayText(label, 40)}", which the proxy cannot show as git would; use UTF-8 (i18n.commitEncoding)`,
  );
}

function describeCommit(bytes: Buffer) {
  // First the structure, on a byte-faithful reading (header syntax is ASCII), so that an
  // ambiguous or already-signed commit is refused for that reason whatever its encoding;
  // then the values, from the text as git's log converts it.
  const raw = readCommit(bytes.toString('latin1'));
  const encoding = raw.encodingLabel;
  // Plain ASCII without an encoding header reads the same either way: read once.
  const { commit } =
    encoding === undefined && isAscii(bytes) ? raw : readCommit(decodeCommit(bytes, encoding));
  const utf8 = encoding === undefined || /^utf-?8$/i.test(encoding.trim());
  return { ...commit, ...(utf8 ? {} : { encoding: displayText(encoding, 40) }) };
}

function readCommit(text: string) {
  const { headers, message } = splitObject(text, 'commit');
  let i = 0;
  const tree = headers[i++] as Header;
  if (tree.key !== 'tree' || !OBJECT_ID.test(tree.value) || tree.more.length)
    malformed('commit', 'has a bad tree line');
  const format = tree.value.length === 40 ? 'sha1' : 'sha256';
  const parents: string[] = [];
  for (; headers[i]?.key === 'parent'; i++) {
    const p = headers[i] as Header;
    if (!OBJECT_ID.test(p.value) || p.value.length !== tree.value.length || p.more.length)
      malformed('commit', 'has a bad parent line');
    parents.push(p.value.toLowerCase());
  }
  if (headers[i]?.key !== 'author')
    malformed('commit', 'does not have its author right after the tree and parent lines');
  const author = person(headers[i++] as Header, 'commit');
  if (headers[i]?.key !== 'committer')
    malformed('commit', 'does not have its committer right after the author');
  const committer = person(headers[i++] as Header, 'commit');
  const mergetags: MergedTag[] = [];
  const others: Header[] = [];
  let encodingLabel: string | undefined;
  for (const h of headers.slice(i)) {
    if (h.key === 'author' || h.key === 'committer')
      ambiguous('commit', `has a second ${h.key} header`);
    if (h.key === 'tree' || h.key === 'parent')
      malformed('commit', `has a ${h.key} header after the committer`);
    if (SIGNATURE_HEADERS.has(h.key)) alreadySigned('commit', `already has a ${h.key} header`);
    if (h.key === 'encoding') {
      if (encodingLabel !== undefined) ambiguous('commit', 'has more than one encoding header');
      if (h.more.length) malformed('commit', 'has an encoding header that continues');
      encodingLabel = h.value;
    } else if (h.key === 'mergetag') {
      mergetags.push(describeMergedTag([h.value, ...h.more].join('\n')));
    } else others.push(h);
  }
  const commit = {
    objectFormat: format,
    tree: tree.value.toLowerCase(),
    parents,
    author,
    committer,
    subject: logSubject(message),
    bodyBytes: Buffer.byteLength(message),
    mergetags: mergetags.slice(0, LIMIT.updates),
    otherHeaders: otherHeaderNames(others),
  } as const;
  return { commit, encodingLabel };
}

// --- tags -----------------------------------------------------------------------------

function readTag(text: string, what: string, signed: boolean) {
  const { headers, message } = splitObject(text, what);
  const [object, type, tag] = headers;
  if (object?.key !== 'object' || !OBJECT_ID.test(object.value) || object.more.length)
    malformed(what, 'does not start with an object line');
  if (type?.key !== 'type' || !OBJECT_TYPES.has(type.value) || type.more.length)
    malformed(what, 'does not have "type commit|tree|blob|tag" as its second line');
  if (tag?.key !== 'tag' || tag.value === '' || tag.more.length)
    malformed(what, 'does not have a tag name as its third line');
  let tagger: Person | undefined;
  const others: Header[] = [];
  for (const h of headers.slice(3)) {
    if (h.key === 'object' || h.key === 'type' || h.key === 'tag')
      ambiguous(what, `has a second ${h.key} header`);
    if (h.key === 'tagger') {
      if (tagger) ambiguous(what, 'has a second tagger header');
      tagger = person(h, what);
    } else if (SIGNATURE_HEADERS.has(h.key)) {
      if (!signed) alreadySigned(what, `already has a ${h.key} header`);
    } else others.push(h);
  }
  const startsALine = (s: string) => message.startsWith(s) || message.includes(`\n${s}`);
  if (!signed && SIGNATURE_START.some(startsALine))
    alreadySigned(what, 'message already contains a signature block');
  return {
    object: object.value.toLowerCase(),
    objectType: type.value,
    tag: displayText(tag.value, LIMIT.ref),
    ...(tagger ? { tagger } : {}),
    subject: refSubject(message),
    otherHeaders: otherHeaderNames(others),
  };
}

/** A tag embedded in a merge commit: it carries its own signature, as git writes it. */
function describeMergedTag(text: string): MergedTag {
  const t = readTag(`${text}\n`, 'merged tag', true);
  return {
    tag: t.tag,
    objectType: t.objectType,
    object: t.object,
    ...(t.tagger ? { tagger: t.tagger } : {}),
  };
}

// --- push certificates ----------------------------------------------------------------

function describePushCert(text: string) {
  if (!text.startsWith('certificate version ')) return null;
  const end = text.indexOf('\n\n');
  if (end === -1 || end > LIMIT.header) return null;
  const headers = text
    .slice(0, end)
    .split('\n')
    .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)] as const);
  // receive-pack's find_header takes the first occurrence.
  const get = (k: string) => headers.find(([h]) => h === k)?.[1];
  const pusher = get('pusher');
  if (!pusher) return null;
  const pushee = get('pushee');
  const lines = text
    .slice(end + 2)
    .split('\n')
    .filter(Boolean);
  const updates = [];
  for (const line of lines) {
    const [old, neu, ref] = line.split(' ');
    if (!old || !neu || !ref) return null;
    if (updates.length < LIMIT.updates)
      updates.push({
        old: displayText(old, 64),
        new: displayText(neu, 64),
        ref: displayText(ref, LIMIT.ref),
      });
  }
  // `pusher` is an ident for GPG ("Name <email> ts tz") and the key fingerprint for SSH.
  const who = IDENT.exec(pusher);
  const bare = pusher.replace(/ \d{1,15} [+-]\d{4}$/, '');
  return {
    pusher: who
      ? `${displayText(who[1] as string, LIMIT.name)} <${displayText(who[2] as string, LIMIT.email)}>`
      : displayText(bare, LIMIT.name + LIMIT.email),
    ...(pushee ? { pushee: displayText(pushee, 200) } : {}),
    updates,
    moreUpdates: Math.max(0, lines.length - LIMIT.updates),
  };
}

// --- entry point ----------------------------------------------------------------------

function looksLikeText(bytes: Buffer): boolean {
  const sample = bytes.subarray(0, 4096);
  return !sample.includes(0) && Buffer.from(sample.toString('utf8'), 'utf8').equals(sample);
}

/**
 * Describe the bytes to be signed. Throws a ProxyError (422) for bytes git would read as
 * a commit or tag that cannot be shown faithfully (see the file comment).
 */
export function describe(bytes: Buffer): Description {
  const size = bytes.length;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const start = bytes.subarray(0, 80).toString('latin1');
  if (COMMIT_START.test(start) || TAG_START.test(start)) {
    const what = start.startsWith('tree') ? 'commit' : 'tag';
    // git commit and git tag refuse NUL in a message; fsck refuses it in a header.
    if (bytes.includes(0)) malformed(what, 'contains a NUL byte');
    if (what === 'commit') return { kind: 'commit', ...describeCommit(bytes), size, sha256 };
    return { kind: 'tag', ...readTag(bytes.toString('utf8'), 'tag', false), size, sha256 };
  }
  if (size > 0 && !bytes.includes(0)) {
    const push = describePushCert(bytes.toString('utf8'));
    if (push) return { kind: 'push-cert', ...push, size, sha256 };
  }
  return { kind: 'data', size, sha256, text: looksLikeText(bytes) };
}

export function isGitObject(d: Description): boolean {
  return d.kind === 'commit' || d.kind === 'tag' || d.kind === 'push-cert';
}

const short = (id: string) => id.slice(0, 7);
const who = (p: Person) => `${p.name} <${p.email}>`;

/** One line for logs, the audit trail and notifications (already display-safe text). */
export function summarize(d: Description): string {
  switch (d.kind) {
    case 'commit': {
      const committer = who(d.committer) !== who(d.author) ? `, committer ${who(d.committer)}` : '';
      const parents = d.parents.length ? `, parent ${d.parents.map(short).join(' ')}` : ', root';
      return displayText(
        `git commit "${d.subject}" by ${who(d.author)}${committer} (tree ${short(d.tree)}${parents})`,
        600,
      );
    }
    case 'tag':
      return displayText(
        `git tag ${d.tag} on ${d.objectType} ${short(d.object)}${d.tagger ? ` by ${who(d.tagger)}` : ''}`,
        600,
      );
    case 'push-cert':
      return displayText(
        `git push certificate by ${d.pusher}${d.pushee ? ` to ${d.pushee}` : ''} (${d.updates.length + d.moreUpdates} ref update${d.updates.length + d.moreUpdates === 1 ? '' : 's'})`,
        600,
      );
    case 'data':
      return `${d.size} bytes of ${d.text ? 'text' : 'data'} (sha256 ${d.sha256.slice(0, 16)}…)`;
    case 'ssh-auth':
      return sshLoginText(d);
  }
}

/** "SSH login as git to github.com (host key SHA256:…)": the prompt's headline and the audit's what. */
export function sshLoginText(d: SshLoginDescription): string {
  const key = d.hostKey ? ` (host key ${d.hostKey})` : '';
  const to =
    d.destination === 'known'
      ? `${d.host}${key}`
      : d.destination === 'hashed'
        ? `a host known_hosts lists under a hashed name${key}`
        : d.destination === 'unknown'
          ? `unknown host${key}`
          : 'an unverified host (the login is not bound to a host key: no session-bind, or not host-bound)';
  return displayText(`SSH login as ${d.user} to ${to}${d.forwarded ? ', forwarded' : ''}`, 600);
}
