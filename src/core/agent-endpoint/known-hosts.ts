// Naming a server from the person's known_hosts (sshd(8), SSH_KNOWN_HOSTS FILE FORMAT):
// the prompt says "github.com" because the person's own ssh already trusts that host key
// under that name. Plain and `[host]:port` names, comma lists, wildcard patterns (shown as
// written), hashed `|1|salt|hash` names (HMAC-SHA1 of the name; a hash cannot be read
// back, so candidate names — the file's plain names and the big forges — are tried),
// @revoked keys, and @cert-authority lines for host certificates signed by that CA.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseKeyBlob, type PublicKey } from '../ssh/keys.js';
import { certificateHolds, readHostCertificate } from './host-certificate.js';

/** Names tried against hashed entries besides the plain names in the file. */
export const WELL_KNOWN_HOSTS = [
  'github.com',
  'gitlab.com',
  'bitbucket.org',
  'codeberg.org',
  'ssh.dev.azure.com',
  'vs-ssh.visualstudio.com',
  'git.sr.ht',
  'gitea.com',
];

export type HostName =
  /** Names the person's known_hosts gives this key (patterns as written). */
  | { kind: 'known'; names: string[]; via: 'key' | 'certificate' }
  /** In known_hosts, but only under hashed names none of the candidates matched. */
  | { kind: 'hashed' }
  /** Marked @revoked: ssh refuses this host key. */
  | { kind: 'revoked' }
  | { kind: 'unknown' };

interface Entry {
  marker: '' | '@cert-authority' | '@revoked';
  patterns: string[];
  key: Buffer;
}

const HASHED = /^\|1\|([A-Za-z0-9+/=]+)\|([A-Za-z0-9+/=]+)$/;

function parseLine(line: string): Entry | null {
  const t = line.trim();
  if (!t || t.startsWith('#')) return null;
  const parts = t.split(/\s+/);
  let marker: Entry['marker'] = '';
  if (parts[0] === '@cert-authority' || parts[0] === '@revoked') {
    marker = parts.shift() as Entry['marker'];
  } else if (parts[0]?.startsWith('@')) return null; // unknown marker: ssh ignores the line
  const [hosts, type, b64] = parts;
  if (!hosts || !type || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return null;
  const key = Buffer.from(b64, 'base64');
  try {
    if (parseKeyBlob(key).type !== type) return null;
  } catch {
    return null;
  }
  return { marker, patterns: hosts.split(',').filter(Boolean), key };
}

export function parseKnownHosts(text: string): Entry[] {
  return text
    .split('\n')
    .map(parseLine)
    .filter((e): e is Entry => e !== null);
}

function hashedMatches(pattern: string, name: string): boolean {
  const m = HASHED.exec(pattern);
  if (!m) return false;
  const salt = Buffer.from(m[1]!, 'base64');
  const want = Buffer.from(m[2]!, 'base64');
  const got = createHmac('sha1', salt).update(name).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}

/** The names a line shows, hashed ones resolved through `candidates` where possible. */
function namesOf(e: Entry, candidates: readonly string[]): { names: string[]; hidden: boolean } {
  const names: string[] = [];
  let hidden = false;
  for (const p of e.patterns) {
    if (p.startsWith('!')) continue; // a negation names no one
    if (!p.startsWith('|')) {
      names.push(p);
      continue;
    }
    const found = candidates.find((c) => hashedMatches(p, c));
    if (found) names.push(found);
    else hidden = true;
  }
  return { names, hidden };
}

/** `*` and `?` globs as ssh's match_pattern does (case-insensitive for host names). */
function globMatches(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return re.test(name);
}

/** Which name the person's known_hosts gives `hostKey`. */
export function lookupHost(
  text: string,
  hostKey: PublicKey,
  nowSeconds = Date.now() / 1000,
): HostName {
  const entries = parseKnownHosts(text);
  const cert = readHostCertificate(hostKey);
  const candidates = [
    ...new Set([
      ...entries.flatMap((e) => e.patterns.filter((p) => !/^[|!]/.test(p) && !/[*?]/.test(p))),
      ...WELL_KNOWN_HOSTS,
    ]),
  ];
  const revoked = entries.some(
    (e) =>
      e.marker === '@revoked' &&
      (e.key.equals(hostKey.blob) || (cert && e.key.equals(cert.ca.blob))),
  );
  if (revoked) return { kind: 'revoked' };
  const names = new Set<string>();
  let hidden = false;
  let via: 'key' | 'certificate' = 'key';
  for (const e of entries) {
    if (e.marker === '' && e.key.equals(hostKey.blob)) {
      const n = namesOf(e, candidates);
      n.names.forEach((x) => names.add(x));
      hidden ||= n.hidden;
    }
  }
  if (names.size === 0 && cert && cert.principals.length > 0) {
    for (const e of entries) {
      if (e.marker !== '@cert-authority' || !e.key.equals(cert.ca.blob)) continue;
      if (!certificateHolds(cert, nowSeconds)) continue;
      // The CA vouches only for names its line covers; the certificate says which.
      const covered = namesOf(e, [...candidates, ...cert.principals]).names;
      for (const principal of cert.principals) {
        if (covered.some((p) => globMatches(p, principal))) {
          names.add(principal);
          via = 'certificate';
        }
      }
    }
  }
  if (names.size > 0) return { kind: 'known', names: [...names], via };
  return hidden ? { kind: 'hashed' } : { kind: 'unknown' };
}
