// Client tokens: one per sandbox, stored hashed (SHA-256 of 256 random bits needs no
// slow hash) in tokens.json (mode 0600) in the config dir, compared in constant time.
// The running proxy re-reads the file when it changes, so a revocation applies at once.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProxyError } from './errors.js';

export const TOKEN_FILE = 'tokens.json';
const PREFIX = 'sap_';

export interface TokenRecord {
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

export class TokenError extends Error {
  override name = 'TokenError';
}

const hashOf = (token: string) => createHash('sha256').update(token, 'utf8').digest();

export function isValidTokenName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name);
}

/** `30d`, `12h`, `90m`, `3600s` → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d{1,6})([smhdw])$/.exec(text.trim());
  if (!m) throw new TokenError(`"${text}" is not a duration like 90m, 12h, 30d or 2w`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit * 1000;
}

export class TokenStore {
  readonly path: string;
  private records: TokenRecord[] = [];
  private loadedStamp = '';

  constructor(
    configDir: string,
    private readonly now: () => number = Date.now,
    /** Injected only by tests, to prove every record is compared. */
    private readonly equal: (a: Buffer, b: Buffer) => boolean = timingSafeEqual,
  ) {
    this.path = join(configDir, TOKEN_FILE);
    this.reload();
  }

  private stamp(): string {
    try {
      const s = statSync(this.path);
      return `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch {
      return 'absent';
    }
  }

  /** Re-read the file if it changed; returns the names of tokens that became unusable. */
  refresh(): string[] {
    const stamp = this.stamp();
    if (stamp === this.loadedStamp) return [];
    const before = new Set(this.usable().map((t) => t.name));
    this.reload();
    const after = new Set(this.usable().map((t) => t.name));
    return [...before].filter((n) => !after.has(n));
  }

  private reload(): void {
    this.loadedStamp = this.stamp();
    if (this.loadedStamp === 'absent') {
      this.records = [];
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch (err) {
      throw new TokenError(`${this.path} cannot be read: ${(err as Error).message}`);
    }
    const tokens = (parsed as { tokens?: unknown }).tokens;
    if (!Array.isArray(tokens)) throw new TokenError(`${this.path} has no "tokens" list`);
    this.records = tokens as TokenRecord[];
  }

  private save(): void {
    mkdirSync(join(this.path, '..'), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ version: 1, tokens: this.records }, null, 2)}\n`, {
      mode: 0o600,
    });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.path);
    this.loadedStamp = this.stamp();
  }

  list(): TokenRecord[] {
    return [...this.records];
  }

  private isUsable(t: TokenRecord): boolean {
    return tokenState(t, this.now()) === 'active';
  }

  usable(): TokenRecord[] {
    return this.records.filter((t) => this.isUsable(t));
  }

  /** Any token at all (even revoked or expired) means every request needs one. */
  get required(): boolean {
    return this.records.length > 0;
  }

  /** Create a token; returns the secret, which is shown once and never stored. */
  create(name: string, opts: CreateTokenOptions = {}): string {
    this.refresh();
    if (!isValidTokenName(name))
      throw new TokenError(
        `"${name}" is not a valid token name (letters, digits, . _ -; up to 64)`,
      );
    if (this.records.some((t) => t.name === name && this.isUsable(t))) {
      throw new TokenError(`a token named "${name}" already exists; revoke it first`);
    }
    const secret = `${PREFIX}${randomBytes(32).toString('base64url')}`;
    const now = this.now();
    this.records = this.records.filter((t) => t.name !== name);
    this.records.push({
      name,
      hash: hashOf(secret).toString('hex'),
      createdAt: new Date(now).toISOString(),
      expiresAt: opts.expiresInMs ? new Date(now + opts.expiresInMs).toISOString() : null,
      revokedAt: null,
      keys: opts.keys ?? [],
      namespaces: opts.namespaces ?? [],
      gitOnly: opts.gitOnly ?? false,
    });
    this.save();
    return secret;
  }

  revoke(name: string): boolean {
    this.refresh();
    const t = this.records.find((r) => r.name === name && !r.revokedAt);
    if (!t) return false;
    t.revokedAt = new Date(this.now()).toISOString();
    this.save();
    return true;
  }

  /**
   * Check a presented token. Compares against every record in constant time each, so the
   * time taken does not say which record (or how much of one) matched.
   */
  verify(presented: string): TokenRecord {
    const h = hashOf(presented);
    let found: TokenRecord | undefined;
    for (const t of this.records) {
      const stored = Buffer.from(t.hash, 'hex');
      if (stored.length === h.length && this.equal(stored, h)) found = t;
    }
    const unauthorized = (code: string, msg: string) =>
      new ProxyError(401, code, msg, { 'WWW-Authenticate': 'Bearer realm="ssh-agent-proxy"' });
    if (!found) throw unauthorized('bad-token', 'the client token is not known to this proxy');
    const state = tokenState(found, this.now());
    if (state === 'revoked')
      throw unauthorized('token-revoked', `the token "${found.name}" was revoked`);
    if (state === 'expired') {
      throw unauthorized(
        'token-expired',
        `the token "${found.name}" expired at ${found.expiresAt}`,
      );
    }
    return found;
  }
}
