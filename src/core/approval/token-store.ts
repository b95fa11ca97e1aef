// Client tokens: one per sandbox, stored hashed (SHA-256 of 256 random bits needs no
// slow hash) in tokens.json (mode 0600) in the config dir, compared in constant time.
// Every writer (CLI, tray, proxy) changes the file under a lock and replaces it
// atomically, so a revocation that reported success is never lost to a racing create.
// The running proxy re-reads the file when it changes, so a revocation applies at once;
// once tokens were required, a missing, emptied or unreadable file fails closed.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TokenLimits } from './client.js';
import { TokenRefused } from '../errors.js';
import { LockError, withFileLock } from './file-lock.js';

export { TokenRefused } from '../errors.js';

export const TOKEN_FILE = 'tokens.json';
const PREFIX = 'sap_';

export interface TokenRecord {
  /** Stable identity (absent in files written before ids existed: derived from the hash). */
  id?: string;
  name: string;
  /** hex SHA-256 of the token */
  hash: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  /** Fingerprints this token may sign with; empty = any allowed key. */
  keys: string[];
  /** Namespaces this token may use; empty = any allowed namespace. */
  namespaces: string[];
  gitOnly: boolean;
}

export interface CreateTokenOptions {
  keys?: string[];
  namespaces?: string[];
  gitOnly?: boolean;
  /** Milliseconds from now; undefined = never. */
  expiresInMs?: number;
}

export type TokenState = 'active' | 'revoked' | 'expired';

/** The one place that says whether a token may still be used. */
export function tokenState(t: TokenRecord, now: number): TokenState {
  if (t.revokedAt) return 'revoked';
  if (t.expiresAt && Date.parse(t.expiresAt) <= now) return 'expired';
  return 'active';
}

export function tokenId(t: TokenRecord): string {
  return t.id ?? `h${t.hash.slice(0, 24)}`;
}

export function tokenLimits(t: TokenRecord): TokenLimits {
  return {
    id: tokenId(t),
    name: t.name,
    keys: [...t.keys],
    namespaces: [...t.namespaces],
    gitOnly: t.gitOnly,
  };
}

export class TokenError extends Error {
  override name = 'TokenError';
}

const hashOf = (token: string) => createHash('sha256').update(token, 'utf8').digest();

/**
 * Each record's stored hash as bytes, decoded once per record (not per request). Records
 * are never changed in place (a reload or an update replaces them), so this cannot go stale.
 */
const storedHashes = new WeakMap<TokenRecord, Buffer>();
function storedHash(t: TokenRecord): Buffer {
  let b = storedHashes.get(t);
  if (!b) {
    b = typeof t.hash === 'string' ? Buffer.from(t.hash, 'hex') : Buffer.alloc(0);
    storedHashes.set(t, b);
  }
  return b;
}

export function isValidTokenName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name);
}

/** `30d`, `12h`, `90m`, `3600s` → milliseconds; zero is refused (it would never work). */
export function parseDuration(text: string): number {
  const m = /^(\d{1,6})([smhdw])$/.exec(text.trim());
  if (!m) throw new TokenError(`"${text}" is not a duration like 90m, 12h, 30d or 2w`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  const ms = Number(m[1]) * unit * 1000;
  if (ms === 0) throw new TokenError(`"${text}" is no time at all; give a positive duration`);
  return ms;
}

export interface TokenStoreOptions {
  now?: () => number;
  /** Injected only by tests, to prove every record is compared. */
  equal?: (a: Buffer, b: Buffer) => boolean;
  /** Tokens are required whatever the file says (the proxy listens beyond loopback). */
  alwaysRequired?: boolean;
}

export class TokenStore {
  readonly path: string;
  private records: TokenRecord[] = [];
  private loadedStamp = '';
  /** Why the file cannot be trusted right now (unreadable, or vanished after use). */
  private broken: string | null = null;
  /** Tokens were in force at some point in this process's life. */
  private wasRequired = false;
  private readonly alwaysRequired: boolean;
  private liveIds = new Map<string, string>();
  private readonly now: () => number;
  private readonly equal: (a: Buffer, b: Buffer) => boolean;

  constructor(configDir: string, opts: TokenStoreOptions = {}) {
    this.path = join(configDir, TOKEN_FILE);
    this.now = opts.now ?? Date.now;
    this.equal = opts.equal ?? timingSafeEqual;
    this.alwaysRequired = opts.alwaysRequired ?? false;
    this.reload();
    if (this.broken) throw new TokenError(this.broken);
    this.liveIds = this.currentLive();
  }

  /** One stat per check (no exception when absent: the common no-token case stays cheap). */
  private stamp(): string {
    try {
      const s = statSync(this.path, { throwIfNoEntry: false });
      return s ? `${s.mtimeMs}:${s.size}:${s.ino}:${s.ctimeMs}` : 'absent';
    } catch {
      return 'unreadable';
    }
  }

  /** When the live set can next change without the file changing: the earliest expiry. */
  private nextExpiry = Infinity;

  private currentLive(): Map<string, string> {
    const usable = this.usable();
    this.nextExpiry = Math.min(
      Infinity,
      ...usable.filter((t) => t.expiresAt).map((t) => Date.parse(t.expiresAt!)),
    );
    return new Map(usable.map((t) => [tokenId(t), t.name]));
  }

  /**
   * Re-read the file if it changed (a stat otherwise) and notice expiries; returns the
   * tokens that stopped being usable since the last call.
   */
  refresh(): { id: string; name: string; state: 'revoked' | 'expired' }[] {
    const stamp = this.stamp();
    const changed = stamp !== this.loadedStamp;
    if (changed) this.reload(stamp);
    // The common case (the file as it was, no expiry due) costs one stat and nothing more.
    if (!changed && this.now() < this.nextExpiry) return [];
    const before = this.liveIds;
    this.liveIds = this.currentLive();
    return [...before]
      .filter(([id]) => !this.liveIds.has(id))
      .map(([id, name]) => {
        const rec = this.records.find((r) => tokenId(r) === id);
        const state = rec ? tokenState(rec, this.now()) : 'revoked';
        return { id, name, state: state === 'expired' ? 'expired' : 'revoked' };
      });
  }

  private reload(stamp = this.stamp()): void {
    this.loadedStamp = stamp;
    const failClosed = (why: string) => {
      this.records = [];
      this.broken = why;
    };
    if (stamp === 'absent') {
      if (this.wasRequired)
        return failClosed(
          `${this.path} is missing although client tokens were in use; every request is refused until it is restored or the proxy is restarted`,
        );
      this.records = [];
      this.broken = null;
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch (err) {
      return failClosed(`${this.path} cannot be read: ${(err as Error).message}`);
    }
    const tokens = (parsed as { tokens?: unknown } | null)?.tokens;
    if (!Array.isArray(tokens)) return failClosed(`${this.path} has no "tokens" list`);
    if (tokens.length === 0 && this.wasRequired)
      return failClosed(
        `${this.path} was emptied although client tokens were in use; every request is refused until the proxy is restarted`,
      );
    this.records = tokens as TokenRecord[];
    this.broken = null;
    if (this.records.length > 0) this.wasRequired = true;
  }

  /** Why every request is refused, or null when the store is sound. */
  get problem(): string | null {
    return this.broken;
  }

  /** Run a read-modify-write of the file under the store's lock (see file-lock.ts). */
  private update<T>(change: () => T): T {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    try {
      return withFileLock(this.path, () => {
        this.reload();
        if (this.broken) throw new TokenError(this.broken);
        const result = change();
        this.save();
        return result;
      });
    } catch (err) {
      if (err instanceof LockError) throw new TokenError(err.message);
      throw err;
    }
  }

  private save(): void {
    const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ version: 1, tokens: this.records }, null, 2)}\n`, {
      mode: 0o600,
    });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.path);
    this.loadedStamp = this.stamp();
    this.liveIds = this.currentLive();
  }

  list(): TokenRecord[] {
    if (this.broken) throw new TokenError(this.broken);
    return [...this.records];
  }

  private isUsable(t: TokenRecord): boolean {
    return tokenState(t, this.now()) === 'active';
  }

  usable(): TokenRecord[] {
    return this.records.filter((t) => this.isUsable(t));
  }

  /** Every request needs a token: any exist (even revoked or expired), or they once did. */
  get required(): boolean {
    return (
      this.records.length > 0 || this.wasRequired || this.alwaysRequired || this.broken !== null
    );
  }

  /** Create a token; returns the secret, which is shown once and never stored. */
  create(name: string, opts: CreateTokenOptions = {}): string {
    if (!isValidTokenName(name))
      throw new TokenError(
        `"${name}" is not a valid token name (letters, digits, . _ -; up to 64)`,
      );
    if (opts.expiresInMs !== undefined && !(opts.expiresInMs > 0))
      throw new TokenError('a token must expire in the future (a positive duration)');
    return this.update(() => {
      if (this.records.some((t) => t.name === name && this.isUsable(t))) {
        throw new TokenError(`a token named "${name}" already exists; revoke it first`);
      }
      const secret = `${PREFIX}${randomBytes(32).toString('base64url')}`;
      const now = this.now();
      this.records = this.records.filter((t) => t.name !== name || this.isUsable(t));
      // A dead token of the same name gives way; grants and prompts key on ids, so the
      // new token inherits nothing from it.
      this.records.push({
        id: randomUUID(),
        name,
        hash: hashOf(secret).toString('hex'),
        createdAt: new Date(now).toISOString(),
        expiresAt: opts.expiresInMs ? new Date(now + opts.expiresInMs).toISOString() : null,
        revokedAt: null,
        keys: opts.keys ?? [],
        namespaces: opts.namespaces ?? [],
        gitOnly: opts.gitOnly ?? false,
      });
      return secret;
    });
  }

  revoke(name: string): boolean {
    return this.update(() => {
      const t = this.records.find((r) => r.name === name && !r.revokedAt);
      if (!t) return false;
      t.revokedAt = new Date(this.now()).toISOString();
      return true;
    });
  }

  private refused(code: string, msg: string, name?: string): TokenRefused {
    return new TokenRefused(code, msg, name);
  }

  /**
   * Check a presented token. Compares against every record in constant time each, so the
   * time taken does not say which record (or how much of one) matched.
   */
  verify(presented: string): TokenRecord {
    if (this.broken)
      throw this.refused(
        'token-store-unavailable',
        'the proxy cannot read its client tokens; see its log',
      );
    const h = hashOf(presented);
    let found: TokenRecord | undefined;
    for (const t of this.records) {
      const stored = storedHash(t);
      if (stored.length === h.length && this.equal(stored, h)) found = t;
    }
    if (!found) throw this.refused('bad-token', 'the client token is not known to this proxy');
    this.assertLive(found);
    return found;
  }

  private assertLive(t: TokenRecord): void {
    const state = tokenState(t, this.now());
    if (state === 'revoked')
      throw this.refused('token-revoked', `the token "${t.name}" was revoked`, t.name);
    if (state === 'expired')
      throw this.refused(
        'token-expired',
        `the token "${t.name}" expired at ${t.expiresAt}`,
        t.name,
      );
  }

  /**
   * A request authenticated earlier re-checks its token before each later step: still in
   * the file (by id), still active. A record that vanished counts as revoked — a missing
   * record never means "no limits".
   */
  check(limits: TokenLimits): void {
    this.refresh();
    if (this.broken)
      throw this.refused(
        'token-store-unavailable',
        'the proxy cannot read its client tokens; see its log',
        limits.name,
      );
    const t = this.records.find((r) => tokenId(r) === limits.id);
    if (!t)
      throw this.refused(
        'token-revoked',
        `the token "${limits.name}" no longer exists`,
        limits.name,
      );
    this.assertLive(t);
  }
}
