// What a sign request on the agent endpoint is, for the person and the grant: an SSH login
// (from the signed bytes, the connection's verified session-bind and known_hosts) or
// opaque data. The destination shown is the one the signature can be used for: a login
// signature covers the session id, and only a session id the host key signed names a host.
import { createHash } from 'node:crypto';
import type { Description, SshLoginDescription } from '../approval/describe.js';
import { displayText } from '../display-text.js';
import type { HostName } from './known-hosts.js';
import type { SessionBind } from './session-bind.js';
import type { UserauthRequest } from './userauth.js';

export type SignSubject =
  | { kind: 'login'; description: SshLoginDescription; group: string; bind: SessionBind | null }
  | { kind: 'data'; description: Description; group: string };

/** A refusal that needs no person: the request cannot be what it claims, or is forbidden. */
export class LoginRefused extends Error {
  override name = 'LoginRefused';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const MAX_NAMES_SHOWN = 4;

function showNames(names: readonly string[]): string {
  const shown = names.slice(0, MAX_NAMES_SHOWN).join(', ');
  return names.length > MAX_NAMES_SHOWN ? `${shown} (+${names.length - MAX_NAMES_SHOWN})` : shown;
}

export interface LoginContext {
  /** The connection's most recent verified binding (what a login must match). */
  bind: SessionBind | null;
  forwarded: boolean;
  /** Name the host key through known_hosts. */
  name: (bind: SessionBind) => HostName;
}

/**
 * Describe a login. Throws LoginRefused when the signed request contradicts the binding
 * (another host key than the one bound) or the host key is @revoked.
 */
export function describeLogin(data: Buffer, auth: UserauthRequest, ctx: LoginContext): SignSubject {
  const sha256 = createHash('sha256').update(data).digest('hex');
  const sameSession = ctx.bind && ctx.bind.sessionId.equals(auth.sessionId) ? ctx.bind : null;
  if (sameSession && auth.hostKey && !auth.hostKey.equals(sameSession.hostKey.blob))
    throw new LoginRefused(
      'host-key-mismatch',
      'the login names another host key than the one the session was bound to',
    );
  // Only a host-bound login names its host. A plain `publickey` login signs the session id
  // and nothing of the server, and anyone holding some host key can sign a session id they
  // saw: a bind then proves nothing about where the signature will be used (OpenSSH's own
  // agent requires publickey-hostbound for the same reason). The server checks the host
  // key inside a host-bound request against its own, so that one is shown.
  const bound = sameSession && auth.hostKey ? sameSession : null;
  let destination: SshLoginDescription['destination'] = 'unbound';
  let host: string | null = null;
  if (bound) {
    const name = ctx.name(bound);
    if (name.kind === 'revoked')
      throw new LoginRefused('host-key-revoked', 'known_hosts marks this host key @revoked');
    destination = name.kind;
    if (name.kind === 'known') host = displayText(showNames(name.names), 300);
  }
  const description: SshLoginDescription = {
    kind: 'ssh-auth',
    user: displayText(auth.user, 80),
    algorithm: auth.algorithm,
    destination,
    host,
    hostKey: bound ? bound.hostKeyFingerprint : null,
    forwarded: ctx.forwarded,
    size: data.length,
    sha256,
  };
  // The grant's scope: this destination — its known_hosts name, else its host key. An
  // unverified destination is no scope at all: its group is this one login (its whole
  // SHA-256, never a prefix), so a grant given on it covers no other.
  const group =
    destination === 'known'
      ? `ssh:${host}`
      : bound
        ? `ssh:${bound.hostKeyFingerprint}`
        : `${UNVERIFIED_GROUP} ${sha256}`;
  return { kind: 'login', description, group, bind: bound };
}

export const UNVERIFIED_GROUP = 'ssh:(unverified host)';
export const DATA_GROUP = 'ssh-agent:data';

/** Anything that is not a login: its size and hash only. */
export function describeData(data: Buffer): SignSubject {
  const sha256 = createHash('sha256').update(data).digest('hex');
  const sample = data.subarray(0, 4096);
  const text = !sample.includes(0) && Buffer.from(sample.toString('utf8'), 'utf8').equals(sample);
  return {
    kind: 'data',
    description: { kind: 'data', size: data.length, sha256, text },
    // Like an unverified login: a grant on these bytes covers only these bytes — by the
    // whole digest: a 64-bit prefix is a collision found in minutes on one core.
    group: `${DATA_GROUP} ${sha256}`,
  };
}
