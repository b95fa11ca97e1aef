// session-bind@openssh.com (OpenSSH PROTOCOL.agent §1): before it authenticates, ssh tells
// the agent which server it is talking to — the host key, the session id of the key
// exchange, and the server's signature over that id — and whether the connection is
// forwarded. The signature makes the claim checkable: a session id signed by a host key
// belongs to a session with that host, so a login signature over that id can only be
// used there. The per-connection rules are ssh-agent's (process_ext_session_bind).
import { fingerprint, isCanonicalBlob, parseKeyBlob, type PublicKey } from '../ssh/keys.js';
import { Reader } from '../ssh/wire.js';
import { MAX_SESSION_ID } from './userauth.js';
import { checkSshSignature, hostKeyAlgorithms } from './ssh-signature.js';

/** As OpenSSH's agent: a connection records at most this many bindings. */
export const MAX_BINDINGS = 16;

export class SessionBindError extends Error {
  override name = 'SessionBindError';
}

export interface SessionBind {
  hostKey: PublicKey;
  hostKeyFingerprint: string;
  sessionId: Buffer;
  signature: Buffer;
  forwarding: boolean;
}

/** Parse the body of the extension (after its name). Throws SessionBindError. */
export function parseSessionBind(body: Buffer): SessionBind {
  try {
    const r = new Reader(body);
    const blob = Buffer.from(r.string('host key'));
    const sessionId = Buffer.from(r.string('session id'));
    const signature = Buffer.from(r.string('signature'));
    const fwd = r.byte('forwarding flag');
    r.end('session-bind');
    if (sessionId.length === 0 || sessionId.length > MAX_SESSION_ID)
      throw new SessionBindError(`session id of ${sessionId.length} bytes`);
    if (fwd > 1) throw new SessionBindError('forwarding flag is not a boolean');
    const hostKey = parseKeyBlob(blob);
    // Else a host key re-encoded (an RSA number with extra zeros) would be shown and
    // looked up in known_hosts under a fingerprint no key has.
    if (!isCanonicalBlob(hostKey))
      throw new SessionBindError('host key not encoded as OpenSSH writes it');
    return {
      hostKey,
      hostKeyFingerprint: fingerprint(blob),
      sessionId,
      signature,
      forwarding: fwd === 1,
    };
  } catch (err) {
    if (err instanceof SessionBindError) throw err;
    throw new SessionBindError(`malformed session-bind: ${(err as Error).message}`);
  }
}

/** The host key's signature over the session id; throws SessionBindError when it fails. */
export function verifySessionBind(b: SessionBind): void {
  const accepted = hostKeyAlgorithms(b.hostKey);
  if (accepted.length === 0)
    throw new SessionBindError(`cannot check signatures of host key type ${b.hostKey.type}`);
  try {
    checkSshSignature(b.hostKey, b.sessionId, b.signature, accepted);
  } catch (err) {
    throw new SessionBindError(`host key signature refused: ${(err as Error).message}`);
  }
}

/** The verified bindings of one agent connection, with ssh-agent's consistency rules. */
export class Bindings {
  private readonly list: SessionBind[] = [];

  /** Any binding says the connection is forwarded (an `ssh -A` hop). */
  get forwarded(): boolean {
    return this.list.some((b) => b.forwarding);
  }

  /** The binding a login signature must match: the most recent one. */
  latest(): SessionBind | null {
    return this.list[this.list.length - 1] ?? null;
  }

  /**
   * Throws SessionBindError where ssh-agent would refuse `b` on this connection; true when
   * `b` repeats a binding already recorded. Cheap: run before the signature is checked.
   */
  check(b: SessionBind): boolean {
    for (const old of this.list) {
      if (!old.forwarding)
        throw new SessionBindError('the connection is already bound for authentication');
      const sameId = old.sessionId.equals(b.sessionId);
      if (sameId && old.hostKey.blob.equals(b.hostKey.blob)) return true;
      if (sameId) throw new SessionBindError('session id already bound to another host key');
    }
    if (this.list.length >= MAX_BINDINGS)
      throw new SessionBindError(`more than ${MAX_BINDINGS} session bindings`);
    return false;
  }

  /** Record a verified binding; throws SessionBindError where ssh-agent would refuse it. */
  record(b: SessionBind): void {
    if (!this.check(b)) this.list.push(b);
  }
}
