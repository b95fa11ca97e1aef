// Which key a request gets (design lifecycle step 4). The allowed set is the pin, narrowed
// by a token's key limits; a request may name a key; otherwise the first allowed key.
import type { Identity } from './agent-client.js';
import { ProxyError } from '../errors.js';
import { fingerprint, isCanonicalBlob, parseAuthorizedKey, type PublicKey } from '../ssh/keys.js';

const FP = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** A key as a request names it: by fingerprint, or in full (then it can be used without listing). */
export interface RequestedKey {
  fingerprint: string;
  /** Present when the request gave the whole public key, not only its fingerprint. */
  key: PublicKey | null;
}

/** A key as a request names it: `SHA256:…` fingerprint or an authorized_keys line → fingerprint. */
export function parseKeySpec(text: string, source: string): string {
  return parseRequestedKey(text, source).fingerprint;
}

// Keys named in full, parsed once: public data, so safe to keep; the shim names the same
// key on every request. Bounded; cleared when full.
const parsedKeys = new Map<string, RequestedKey>();

export function parseRequestedKey(text: string, source: string): RequestedKey {
  const t = text.trim();
  if (FP.test(t)) return { fingerprint: t, key: null };
  const known = parsedKeys.get(t);
  if (known) return known;
  let key: PublicKey;
  try {
    key = parseAuthorizedKey(t).key;
  } catch {
    throw new ProxyError(
      400,
      'bad-key',
      `${source} must be a SHA256: fingerprint or an OpenSSH public key line`,
    );
  }
  if (!isCanonicalBlob(key))
    throw new ProxyError(
      400,
      'bad-key',
      `${source} is not encoded as OpenSSH writes this key (e.g. a number with extra leading zeros); use the line ssh-add -L prints`,
    );
  const parsed = { fingerprint: fingerprint(key.blob), key };
  if (parsedKeys.size >= 256) parsedKeys.clear();
  parsedKeys.set(t, parsed);
  return parsed;
}

export interface KeyPolicy {
  /** Fingerprints of the pinned key(s); null = no pin. */
  pinned: ReadonlySet<string> | null;
  /** A token's key limits; null = none. */
  tokenKeys?: ReadonlySet<string> | null;
}

export function allowedBy(policy: KeyPolicy, fp: string): boolean {
  return (
    (!policy.pinned || policy.pinned.has(fp)) && (!policy.tokenKeys || policy.tokenKeys.has(fp))
  );
}

function plural(n: number): string {
  return `${n} key${n === 1 ? '' : 's'}`;
}

export function selectKey(
  held: readonly Identity[],
  policy: KeyPolicy,
  requested?: string,
): Identity {
  if (held.length === 0) {
    throw new ProxyError(
      503,
      'no-keys',
      'the agent holds no keys; add one (e.g. ssh-add) and retry',
    );
  }
  if (requested) {
    if (!allowedBy(policy, requested)) {
      throw new ProxyError(
        403,
        'key-not-allowed',
        `key ${requested} is not allowed for this request`,
      );
    }
    const found = held.find((id) => id.fingerprint === requested);
    if (!found) {
      throw new ProxyError(
        404,
        'key-not-found',
        `the agent holds no key ${requested} (it holds ${plural(held.length)})`,
      );
    }
    if (!found.key.signing) {
      throw new ProxyError(
        400,
        'unsupported-key-type',
        `key type ${found.key.type} cannot be used to sign`,
      );
    }
    return found;
  }
  const first = held.find((id) => id.key.signing && allowedBy(policy, id.fingerprint));
  if (first) return first;
  if (policy.pinned && !held.some((id) => policy.pinned!.has(id.fingerprint))) {
    throw new ProxyError(
      503,
      'pinned-key-missing',
      `the pinned key (SSH_AGENT_PROXY_PUBKEY) is not in the agent, which holds ${plural(held.length)}`,
    );
  }
  throw new ProxyError(
    404,
    'key-not-found',
    `none of the ${plural(held.length)} in the agent is allowed for this request`,
  );
}
