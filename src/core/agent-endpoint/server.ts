// The agent endpoint: one client connection (an upgraded HTTP connection from a sandbox,
// or the host-local socket) speaking the agent protocol, in front of the upstream agent.
// It answers only what it can gate: the key list (narrowed to the keys this client may
// use), sign requests (each through the approval broker, described from the signed bytes
// and the connection's verified session-bind), session-bind (verified, then relayed on the
// same upstream connection) and the `query` extension. Every other message — add, remove,
// lock, unlock, smartcard, unknown — gets SSH_AGENT_FAILURE and never reaches the agent.
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { AgentTimeouts } from '../agent/agent-client.js';
import type { ApprovalBroker, Decision } from '../approval/approval-broker.js';
import type { ClientInfo } from '../approval/client.js';
import { summarize } from '../approval/describe.js';
import { oneLine, ProxyError, TokenRefused } from '../errors.js';
import { allowedBy, type KeyPolicy } from '../agent/key-selection.js';
import { keyLabel, type PublicKey } from '../ssh/keys.js';
import type { Logger } from '../logger.js';
import { Reader, WireError } from '../ssh/wire.js';
import { describeData, describeLogin, LoginRefused, type SignSubject } from './describe-login.js';
import { frame, FrameReader } from '../agent/frames.js';
import { MAX_AGENT_FRAME } from './messages.js';
import type { HostName } from './known-hosts.js';
import {
  SESSION_BIND,
  QUERY,
  SSH_AGENT_EXTENSION_FAILURE,
  SSH_AGENT_FAILURE,
  SSH_AGENT_SUCCESS,
  SSH_AGENTC_EXTENSION,
  SSH_AGENTC_REQUEST_IDENTITIES,
  SSH_AGENTC_SIGN_REQUEST,
} from './messages.js';
import {
  identitiesAnswer,
  parseIdentitiesAnswer,
  parseSignRequest,
  parseSignResponse,
  queryAnswer,
  signResponse,
  type SignRequest,
} from './requests.js';
import { Bindings, parseSessionBind, SessionBindError, verifySessionBind } from './session-bind.js';
import { checkSshSignature, requestedAlgorithm } from './ssh-signature.js';
import { checkHostKeyBounds, HostKeyRefused, verificationCost } from './host-key-bounds.js';
import type { VerificationBudget } from './verification-budget.js';
import { UpstreamChannel } from './upstream.js';
import { parseUserauth } from './userauth.js';

/** Requests a client may have queued behind the one being handled (ssh sends one at a time). */
const MAX_QUEUED = 8;
/** …and at most this many bytes of them: one largest frame (32 connections × this per client). */
const MAX_QUEUED_BYTES = MAX_AGENT_FRAME;
/** Answer bytes a client may leave unread before it is dropped. */
const MAX_UNREAD = 1 << 20;
/** How long a closing connection may take to flush its last answers. */
const LINGER_MS = 2_000;

/** One sign request's outcome, for the audit trail. */
export interface EndpointRecord {
  id: string;
  client: ClientInfo;
  key: string | null;
  /** The grant scope, e.g. `ssh:github.com`. */
  scope: string | null;
  what: string | null;
  decision: Decision | null;
  status: number;
  outcome: string;
  ms: number;
}

export interface EndpointDeps {
  log: Logger;
  broker: ApprovalBroker;
  /** The upstream agent's path; throws a ProxyError when there is none. */
  upstream: () => string;
  timeouts: AgentTimeouts;
  keyPolicy: (client: ClientInfo) => KeyPolicy;
  /** Throws (TokenRefused) when the client's token is no longer in force. */
  stillAuthorized: (client: ClientInfo) => void;
  /** Name a host key through the person's known_hosts. */
  nameHost: (hostKey: PublicKey) => HostName;
  /** Sign requests on connections bound as forwarded are refused unless this says yes. */
  allowForwarded: () => boolean;
  /** Opaque (non-login) data may not be signed for this client. */
  gitOnly: (client: ClientInfo) => boolean;
  rateLimit: (clientId: string, signal: AbortSignal) => Promise<void>;
  /** Resolves when the audit log can be written; rejects (503 audit-unavailable) while not. */
  auditReady?: () => Promise<void>;
  /** Written before the answer is sent; rejecting means no signature may leave. */
  record: (r: EndpointRecord) => void | Promise<void>;
  /** Host-key checks each client may cause (session-bind), shared by its connections. */
  verificationBudget: VerificationBudget;
  /** A frame begun must be complete within this. */
  frameTimeoutMs: number;
  /** A connection with no traffic this long is closed. */
  idleTimeoutMs: number;
}

const failure = () => Buffer.from([SSH_AGENT_FAILURE]);
/** PROTOCOL.sshsig: the preamble of every signed-data blob. */
const SSHSIG_MAGIC = Buffer.from('SSHSIG');

/** Serve the agent protocol on `sock` for `client`; `head` is any bytes already read. */
export function serveAgentConnection(
  sock: Socket,
  head: Buffer,
  client: ClientInfo,
  deps: EndpointDeps,
): EndpointConnection {
  return new EndpointConnection(sock, head, client, deps);
}

export class EndpointConnection {
  private readonly frames = new FrameReader();
  private readonly queue: Buffer[] = [];
  private readonly bindings = new Bindings();
  private closedCode: string | null = null;
  private readonly comments = new Map<string, string>();
  private readonly abort = new AbortController();
  private readonly upstream: UpstreamChannel;
  private readonly closeListeners = new Set<() => void>();
  private working = false;
  private ended = false;
  private closed = false;
  /** Set when the connection must end once the current answer is written. */
  private closeAfterAnswer = false;
  private frameTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly sock: Socket,
    head: Buffer,
    readonly client: ClientInfo,
    private readonly deps: EndpointDeps,
  ) {
    this.upstream = new UpstreamChannel(deps.upstream, deps.timeouts);
    this.upstream.onClose(() => this.close('the upstream agent closed its connection'));
    sock.setTimeout(deps.idleTimeoutMs, () => this.close('idle'));
    sock.on('data', (c: Buffer) => this.onData(c));
    sock.on('end', () => {
      // The client sent its last byte: answers already owed are still written, but a login
      // waiting for a person (or its turn) is withdrawn — ssh never half-closes while it
      // waits, so this is a client that went away (the bridge half-closes for it).
      this.ended = true;
      this.abort.abort();
      this.maybeFinish();
    });
    sock.on('error', () => this.close());
    sock.on('close', () => this.close());
    if (head.length > 0) this.onData(head);
  }

  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closeListeners.add(fn);
  }

  /**
   * `code` names why the proxy ended the connection (e.g. `token-revoked`), so a request it
   * cut short is recorded as that, not as the client hanging up.
   */
  close(why?: string, code?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closedCode = code ?? null;
    if (why) this.deps.log.debug(`agent connection of ${oneLine(this.client.name, 80)}: ${why}`);
    if (this.frameTimer) clearTimeout(this.frameTimer);
    this.abort.abort();
    this.upstream.close();
    this.sock.destroy();
    for (const fn of this.closeListeners) fn();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let got: Buffer[];
    try {
      got = this.frames.push(chunk);
    } catch (err) {
      return this.close(`refused: ${(err as Error).message}`);
    }
    // A frame begun must arrive in time: a half-sent request cannot hold the connection.
    if (got.length > 0 && this.frameTimer) {
      clearTimeout(this.frameTimer);
      this.frameTimer = null;
    }
    if (this.frames.buffered > 0) {
      this.frameTimer ??= setTimeout(
        () => this.close('a request did not arrive in time'),
        this.deps.frameTimeoutMs,
      );
    } else if (this.frameTimer) {
      clearTimeout(this.frameTimer);
      this.frameTimer = null;
    }
    this.queue.push(...got);
    if (this.queue.length > MAX_QUEUED) return this.close('too many requests queued');
    if (this.queue.reduce((n, f) => n + f.length, 0) > MAX_QUEUED_BYTES)
      return this.close('too much queued behind the request being answered');
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.working) return;
    this.working = true;
    while (this.queue.length > 0 && !this.closed) {
      const answer = await this.handle(this.queue.shift()!);
      if (this.closed) break;
      this.sock.write(frame(answer));
      if (this.sock.writableLength > MAX_UNREAD) return this.close('the client does not read');
      if (this.closeAfterAnswer) return this.endThenClose();
    }
    this.working = false;
    this.maybeFinish();
  }

  /** The client finished sending: answer what it asked, then close. */
  private maybeFinish(): void {
    if (!this.ended || this.working || this.queue.length > 0 || this.closed) return;
    if (this.frames.buffered > 0) return this.close('the client ended mid-request');
    this.endThenClose();
  }

  /** Close once the answers written so far are flushed (bounded: a client may not read). */
  private endThenClose(): void {
    const timer = setTimeout(() => this.close(), LINGER_MS);
    timer.unref();
    this.sock.end(() => {
      clearTimeout(timer);
      this.close();
    });
  }

  private async handle(payload: Buffer): Promise<Buffer> {
    const r = new Reader(payload);
    const type = r.byte('message type');
    try {
      switch (type) {
        case SSH_AGENTC_REQUEST_IDENTITIES:
          r.end('identities request');
          return await this.identities();
        case SSH_AGENTC_SIGN_REQUEST:
          return await this.sign(payload, r);
        case SSH_AGENTC_EXTENSION:
          return await this.extension(payload, r);
        default:
          // add, remove, lock, unlock, smartcard, RSA1 and the unknown: never relayed.
          return failure();
      }
    } catch (err) {
      if (err instanceof TokenRefused) {
        this.closeAfterAnswer = true;
      } else if (err instanceof ProxyError && /^agent-|connection-closed/.test(err.code)) {
        // The upstream connection is gone or untrustworthy, and with it the bindings.
        this.deps.log.warn(`agent endpoint: ${oneLine(err.line)}`);
        this.closeAfterAnswer = true;
      } else if (err instanceof ProxyError) {
        // A refusal (a denial, a limit): recorded as what it is, not an error of ours.
        this.deps.log.debug(`agent endpoint: ${oneLine(err.line)}`);
      } else if (!(err instanceof WireError)) {
        this.deps.log.error(`agent endpoint: unexpected error: ${oneLine(String(err))}`);
      }
      return failure();
    }
  }

  private async identities(): Promise<Buffer> {
    this.deps.stillAuthorized(this.client);
    const answer = await this.upstream.request(
      Buffer.from([SSH_AGENTC_REQUEST_IDENTITIES]),
      this.deps.timeouts.listMs,
      'the key list',
    );
    if (answer.length === 1 && answer[0] === SSH_AGENT_FAILURE) return failure();
    let ids;
    try {
      ids = parseIdentitiesAnswer(answer);
    } catch (err) {
      throw new ProxyError(
        502,
        'agent-protocol-error',
        `the agent's key list: ${(err as Error).message}`,
      );
    }
    const policy = this.deps.keyPolicy(this.client);
    const usable = ids.filter((id) => id.key.signing && allowedBy(policy, id.fingerprint));
    for (const id of usable) this.comments.set(id.fingerprint, id.comment);
    return identitiesAnswer(usable);
  }

  private subject(req: SignRequest): SignSubject {
    // A git-only client signs git objects over /sign and nothing here: a login is no git object.
    if (this.deps.gitOnly(this.client))
      throw new ProxyError(
        422,
        'not-a-git-object',
        'this client may sign only git objects (over /sign), not SSH logins or other data',
      );
    // SSHSIG signed data would let the agent endpoint make file and git signatures in any
    // namespace, unseen: they go through /sign, which checks the namespace and shows what
    // is signed.
    if (req.data.subarray(0, SSHSIG_MAGIC.length).equals(SSHSIG_MAGIC))
      throw new ProxyError(
        422,
        'use-sign-endpoint',
        'SSHSIG signatures (git, ssh-keygen -Y sign) are made through /sign (the shim), not the agent bridge',
      );
    const auth = parseUserauth(req.data, req.key.blob, req.key.type);
    if (!auth) {
      // A token limited to namespaces signs in those namespaces only: opaque data is none.
      if (this.client.token && this.client.token.namespaces.length > 0)
        throw new ProxyError(
          403,
          'namespace-not-allowed',
          `the token "${this.client.token.name}" is limited to namespaces; only SSH logins and /sign are open to it`,
        );
      return describeData(req.data);
    }
    try {
      return describeLogin(req.data, auth, {
        bind: this.bindings.latest(),
        forwarded: this.bindings.forwarded,
        name: (b) => this.deps.nameHost(b.hostKey),
      });
    } catch (err) {
      if (err instanceof LoginRefused) throw new ProxyError(403, err.code, err.message);
      throw err;
    }
  }

  /** A sign request, answered only once its record is written. */
  private async sign(payload: Buffer, r: Reader): Promise<Buffer> {
    const started = performance.now();
    const rec: EndpointRecord = {
      id: randomUUID(),
      client: this.client,
      key: null,
      scope: null,
      what: null,
      decision: null,
      status: 500,
      outcome: 'internal-error',
      ms: 0,
    };
    let answer: Buffer | null = null;
    let error: unknown = null;
    try {
      answer = await this.signUnrecorded(payload, r, rec);
    } catch (err) {
      error = err;
    }
    rec.ms = Math.round(performance.now() - started);
    if (this.abort.signal.aborted && rec.status >= 400) rec.outcome = this.closedCode ?? 'hung-up';
    try {
      await this.deps.record(rec);
    } catch (err) {
      // Unrecorded, so not answered with a signature (the trail logged why, once).
      if (!(err instanceof ProxyError))
        this.deps.log.error(`agent endpoint: recording failed: ${oneLine(String(err))}`);
      return failure();
    }
    if (error !== null) throw error;
    return answer!;
  }

  private async signUnrecorded(payload: Buffer, r: Reader, rec: EndpointRecord): Promise<Buffer> {
    try {
      // This client's turn first, before the cheap refusals: each one is answered and
      // recorded (or counted), so a flood of them is slowed like any other request.
      await this.deps.rateLimit(this.client.id, this.abort.signal);
      let req: SignRequest;
      try {
        req = parseSignRequest(r);
      } catch (err) {
        throw new ProxyError(
          400,
          'bad-request',
          `malformed sign request (${(err as Error).message})`,
        );
      }
      rec.key = req.fingerprint;
      this.deps.stillAuthorized(this.client);
      if (!allowedBy(this.deps.keyPolicy(this.client), req.fingerprint))
        throw new ProxyError(
          403,
          'key-not-allowed',
          `key ${req.fingerprint} is not allowed for this client`,
        );
      const algorithm = requestedAlgorithm(req.key, req.flags);
      if (!algorithm)
        throw new ProxyError(
          400,
          'unsupported-algorithm',
          req.key.signing
            ? 'RSA signatures with SHA-1 (ssh-rsa) are refused'
            : `key type ${req.key.type} cannot be checked`,
        );
      const subject = this.subject(req);
      rec.scope = subject.group;
      rec.what = summarize(subject.description);
      if (this.bindings.forwarded && !this.deps.allowForwarded())
        throw new ProxyError(
          403,
          'forwarding-refused',
          'the request came through an ssh -A hop (see SSH_AGENT_PROXY_AGENT_ALLOW_FORWARDED)',
        );
      await this.deps.auditReady?.();
      const pre = this.deps.broker.precheck();
      if (pre && !pre.allowed) {
        rec.decision = pre;
        throw pre.error;
      }
      // A token revoked or expired while this request waited reaches no prompt.
      this.deps.stillAuthorized(this.client);
      const decision = await this.deps.broker.decide(
        this.client,
        {
          fingerprint: req.fingerprint,
          type: req.key.type,
          comment: this.comments.get(req.fingerprint) ?? '',
          label: keyLabel(req.key),
        },
        subject.group,
        subject.description,
        this.abort.signal,
      );
      rec.decision = decision;
      if (!decision.allowed) throw decision.error;
      this.deps.stillAuthorized(this.client);
      const answer = await this.upstream.request(
        payload,
        this.deps.timeouts.signMs,
        'the sign request',
      );
      let sig: Buffer | null;
      try {
        sig = parseSignResponse(answer);
      } catch (err) {
        throw new ProxyError(
          502,
          'agent-protocol-error',
          `the agent's answer: ${(err as Error).message}`,
        );
      }
      if (!sig) throw new ProxyError(502, 'agent-refused', 'the agent refused to sign');
      try {
        checkSshSignature(req.key, req.data, sig, [algorithm]);
      } catch (err) {
        // Not an upstream transport fault: the connection may go on.
        throw new ProxyError(
          502,
          'bad-signature',
          `the agent's signature was refused: ${(err as Error).message}`,
        );
      }
      rec.status = 200;
      rec.outcome = 'ok';
      return signResponse(sig);
    } catch (err) {
      if (err instanceof ProxyError) {
        rec.status = err.status;
        rec.outcome = err.code;
        if (err.code === 'agent-refused' || err.code === 'bad-signature') return failure();
      }
      throw err;
    }
  }

  private async extension(payload: Buffer, r: Reader): Promise<Buffer> {
    const name = r.string('extension name').toString('latin1');
    if (name === QUERY) {
      r.end('query');
      return queryAnswer();
    }
    if (name !== SESSION_BIND) return failure();
    const refuse = (why: string) => {
      this.deps.log.info(
        `agent endpoint: session-bind from ${oneLine(this.client.name, 80)} refused: ${oneLine(why)}`,
      );
      return Buffer.from([SSH_AGENT_EXTENSION_FAILURE]);
    };
    // A dead token's connection binds nothing (and ends: TokenRefused closes it).
    this.deps.stillAuthorized(this.client);
    let bind;
    try {
      bind = parseSessionBind(r.rest());
      // The cheap refusals first: a signature check is work on the proxy's one thread.
      this.bindings.check(bind);
      // A client that may sign no login has nothing to bind.
      if (this.deps.gitOnly(this.client))
        throw new SessionBindError('this client may sign only git objects, not SSH logins');
      checkHostKeyBounds(bind.hostKey);
      if (!this.deps.verificationBudget.spend(this.client.id, verificationCost(bind.hostKey)))
        throw new SessionBindError('this client has spent its host-key checks for now');
      verifySessionBind(bind);
      this.bindings.record(bind);
    } catch (err) {
      if (!(err instanceof SessionBindError || err instanceof HostKeyRefused)) throw err;
      // ssh sends a bind it made itself and never one that fails: this client is forging
      // them, and each further try costs it a new connection (under its connection cap).
      this.closeAfterAnswer = true;
      return refuse(err.message);
    }
    // Recorded, so sign requests on this connection are refused; never relayed.
    if (bind.forwarding && !this.deps.allowForwarded())
      return refuse('forwarded connections are refused (SSH_AGENT_PROXY_AGENT_ALLOW_FORWARDED)');
    // Nothing reaches the upstream agent for a token that died since the connection opened.
    this.deps.stillAuthorized(this.client);
    // Relayed as received, on this client's own upstream connection: the upstream agent's
    // own destination constraints see the same binding. Its answer is passed on as it is.
    const answer = await this.upstream.request(payload, this.deps.timeouts.listMs, 'session-bind');
    if (answer.length !== 1)
      throw new ProxyError(
        502,
        'agent-protocol-error',
        'the agent answered session-bind with a non-status message',
      );
    return answer[0] === SSH_AGENT_SUCCESS
      ? answer
      : Buffer.from([
          answer[0] === SSH_AGENT_EXTENSION_FAILURE
            ? SSH_AGENT_EXTENSION_FAILURE
            : SSH_AGENT_FAILURE,
        ]);
  }
}
