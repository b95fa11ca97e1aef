// The agent protocol subset the proxy needs (draft-miller-ssh-agent): list identities
// and sign. One request at a time per connection; every answer is untrusted input.
import type { Socket } from 'node:net';
import { dialAgent } from './agent-dialer.js';
import { frame, FrameError, FrameReader } from './frames.js';
import { ProxyError } from '../errors.js';
import { fingerprint, parseKeyBlob, type PublicKey } from '../ssh/keys.js';
import { byte, Reader, string, uint32, WireError } from '../ssh/wire.js';

export { MAX_AGENT_FRAME } from './frames.js';

export const SSH_AGENT_FAILURE = 5;
export const SSH_AGENTC_REQUEST_IDENTITIES = 11;
export const SSH_AGENT_IDENTITIES_ANSWER = 12;
export const SSH_AGENTC_SIGN_REQUEST = 13;
export const SSH_AGENT_SIGN_RESPONSE = 14;

/** A write that failed with one of these never reached the agent. */
const NEVER_WRITTEN = new Set(['EPIPE', 'ECONNRESET']);
/**
 * On Linux a Unix socket closed by its peer with our bytes still unread reads as
 * ECONNRESET. Elsewhere (a Windows pipe, where libuv reports other read failures under the
 * same codes; macOS, not shown here) a reset is not taken as proof: no resend.
 */
const RESET_MEANS_UNREAD = process.platform === 'linux';

export interface Identity {
  key: PublicKey;
  comment: string;
  fingerprint: string;
}

export interface AgentTimeouts {
  connectMs: number;
  listMs: number;
  signMs: number;
}

function protocolError(what: string): ProxyError {
  return new ProxyError(502, 'agent-protocol-error', `the agent sent a malformed answer (${what})`);
}

/** The body of an IDENTITIES_ANSWER (after its type byte), checked; throws WireError. */
export function readIdentities(r: Reader): Identity[] {
  const n = r.uint32('key count');
  // Each entry takes at least 8 bytes; a count beyond that is a lie.
  if (n > r.remaining / 8) throw new WireError(`claims ${n} keys in ${r.remaining} bytes`);
  const out: Identity[] = [];
  for (let i = 0; i < n; i++) {
    const blob = Buffer.from(r.string('key blob'));
    const comment = r.string('key comment').toString('utf8');
    out.push({ key: parseKeyBlob(blob), comment, fingerprint: fingerprint(blob) });
  }
  r.end('key list');
  return out;
}

/**
 * A kept connection the agent closed while it sat idle (agents may close idle clients):
 * writing to it failed, or it was reset with the request unread, before a byte of an
 * answer. The agent never took the request, so it may be sent again on a fresh
 * connection (agent-pool.ts does, once).
 */
export class StaleAgentConnection extends ProxyError {
  constructor() {
    super(502, 'agent-protocol-error', 'the agent closed a kept connection');
  }
}

/**
 * One connection to the agent: one request at a time (the protocol has no request ids).
 * Closed by its owner when the operation is over, or kept for the next (agent-pool.ts).
 */
export class AgentConnection {
  private pending = false;
  /** Set when taken from the idle pool, cleared when its first request settles: see StaleAgentConnection. */
  mayBeStale = false;

  private constructor(
    readonly sock: Socket,
    readonly path: string,
    private readonly timeouts: AgentTimeouts,
  ) {
    // Between requests nothing is expected: bytes then mean an agent out of step, and the
    // connection ends before they could be read as the next request's answer. An error
    // between requests only ends it too ('close' follows); during one, request() has it.
    sock.on('data', () => {
      if (!this.pending) this.close();
    });
    sock.on('error', () => {});
  }

  static async open(path: string, timeouts: AgentTimeouts): Promise<AgentConnection> {
    return new AgentConnection(await dialAgent(path, timeouts.connectMs), path, timeouts);
  }

  /** Open both ways, and not in the middle of a request: may carry the next one. */
  get reusable(): boolean {
    return !this.pending && this.sock.writable && this.sock.readable;
  }

  close(): void {
    this.sock.destroy();
  }

  /**
   * Send one framed request, read exactly one framed answer (its payload, untrusted). Any
   * failure closes the connection: after it, the stream cannot be trusted to be aligned.
   */
  request(payload: Buffer, timeoutMs: number, what: string): Promise<Buffer> {
    const sock = this.sock;
    if (this.pending) throw new Error('agent connection: a request is already in flight');
    if (!sock.writable) {
      if (this.mayBeStale) throw new StaleAgentConnection();
      throw new ProxyError(503, 'agent-unreachable', 'the agent connection is closed');
    }
    this.pending = true;
    return new Promise((resolve, reject) => {
      const reader = new FrameReader();
      let got = false;
      let settled = false;
      const finish = (err: Error | null, value?: Buffer) => {
        if (settled) return;
        settled = true;
        this.pending = false;
        this.mayBeStale = false;
        clearTimeout(timer);
        sock.off('data', onData);
        sock.off('error', onError);
        sock.off('close', onClose);
        if (err) {
          sock.destroy();
          reject(err);
        } else resolve(value as Buffer);
      };
      const onData = (chunk: Buffer) => {
        got = true;
        let frames: Buffer[];
        try {
          frames = reader.push(chunk);
        } catch (err) {
          return finish(protocolError((err as FrameError).message));
        }
        if (frames.length === 0) return;
        if (frames.length > 1 || reader.buffered > 0)
          return finish(protocolError('unexpected bytes after the answer'));
        finish(null, frames[0]);
      };
      // A kept connection whose write failed, or that was reset with our request unread,
      // was closed by the agent while idle: the agent never took the request. An agent
      // that reads a request and then hangs up or never answers is not asked twice.
      let writeFailed = false;
      const stale = (err: NodeJS.ErrnoException) =>
        !got &&
        this.mayBeStale &&
        ((writeFailed && NEVER_WRITTEN.has(err.code ?? '')) ||
          (err.code === 'ECONNRESET' && RESET_MEANS_UNREAD));
      const onError = (err: NodeJS.ErrnoException) =>
        finish(
          stale(err)
            ? new StaleAgentConnection()
            : new ProxyError(
                503,
                'agent-unreachable',
                `the agent connection failed (${err.message})`,
              ),
        );
      const onClose = () =>
        finish(
          new ProxyError(
            502,
            'agent-protocol-error',
            `the agent closed the connection during ${what}`,
          ),
        );
      const timer = setTimeout(
        () =>
          finish(
            new ProxyError(
              504,
              'agent-timeout',
              `the agent at ${this.path} did not answer ${what} within ${Math.round(timeoutMs / 1000)} s`,
            ),
          ),
        timeoutMs,
      );
      sock.on('data', onData);
      sock.on('error', onError);
      sock.on('close', onClose);
      // The write's own callback runs before the stream's 'error' for the same failure; an
      // error seen first is taken as a read error (never re-sent: the safe reading).
      sock.write(frame(payload), (err) => {
        if (err) writeFailed = true;
      });
    });
  }

  async listIdentities(): Promise<Identity[]> {
    const r = new Reader(
      await this.request(byte(SSH_AGENTC_REQUEST_IDENTITIES), this.timeouts.listMs, 'the key list'),
    );
    return this.answer(r, SSH_AGENT_IDENTITIES_ANSWER, 'a key list request', readIdentities, () => {
      throw new ProxyError(502, 'agent-refused', 'the agent refused to list its keys');
    });
  }

  /** SIGN_REQUEST; returns the raw signature blob (not yet checked). */
  async sign(keyBlob: Buffer, data: Buffer, flags: number): Promise<Buffer> {
    const payload = Buffer.concat([
      byte(SSH_AGENTC_SIGN_REQUEST),
      string(keyBlob),
      string(data),
      uint32(flags),
    ]);
    const r = new Reader(await this.request(payload, this.timeouts.signMs, 'the sign request'));
    const read = (body: Reader) => {
      const sig = Buffer.from(body.string('signature'));
      body.end('sign response');
      return sig;
    };
    return this.answer(r, SSH_AGENT_SIGN_RESPONSE, 'a sign request', read, () => {
      throw new ProxyError(
        502,
        'agent-refused',
        'the agent refused to sign (its own confirmation may have been declined, or the key is locked)',
      );
    });
  }

  /**
   * Read one answer: `expected` is read by `read`, a bare FAILURE is the agent's refusal
   * (the connection stays usable). Anything else is an agent out of step with us: the
   * connection is closed, so a late or stray answer can never be read as the next one's.
   */
  private answer<T>(
    r: Reader,
    expected: number,
    what: string,
    read: (body: Reader) => T,
    refused: () => never,
  ): T {
    const type = r.byte('message type');
    if (type === SSH_AGENT_FAILURE) {
      if (r.remaining > 0) this.close(); // a refusal, but not one a well-behaved agent frames
      refused();
    }
    try {
      if (type !== expected) throw protocolError(`message type ${type} to ${what}`);
      return read(r);
    } catch (err) {
      this.close();
      if (err instanceof WireError) throw protocolError(err.message);
      throw err;
    }
  }
}

/** Run `fn` on a fresh connection that is closed afterwards, whatever happens. */
export async function withAgent<T>(
  path: string,
  timeouts: AgentTimeouts,
  fn: (conn: AgentConnection) => Promise<T>,
): Promise<T> {
  const conn = await AgentConnection.open(path, timeouts);
  try {
    return await fn(conn);
  } finally {
    conn.close();
  }
}
