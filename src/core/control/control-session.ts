// One control connection, as a little state machine: nothing is carried out until both sides
// have shown they know the secret in `<config dir>/control.key` (control-key.ts).
//   client → {"op":"hello","nonce":Nc}
//   proxy  → {"ok":true,"nonce":Ns,"proof":HMAC(secret, server, Nc, Ns)}   (the client checks it)
//   client → {"op":…, "proof":HMAC(secret, client, Nc, Ns)}                 (its first request)
// then one request per line, as control-protocol.ts says. Anything else before that is
// refused `unauthenticated` and the connection ends. Every answer after the handshake names
// the proxy that acted (its address and pid), so a person with two proxies on one config dir
// is told which one their command reached.
import type { ApprovalBroker } from '../approval/approval-broker.js';
import type { Logger } from '../logger.js';
import { clientProof, newNonce, NONCE_PATTERN, proofMatches, serverProof } from './control-key.js';
import { answerControl, type ControlAnswer, type ProxyIdentity } from './control-protocol.js';

export interface HelloAnswer {
  ok: true;
  nonce: string;
  proof: string;
}

export interface SessionReply {
  answer: ControlAnswer | HelloAnswer;
  /** Close the connection once the answer is written. */
  close: boolean;
}

const HELLO =
  'unauthenticated: a connection starts with {"op":"hello","nonce":"<64 hex digits>"} and proves it knows the control key (ssh-agent-proxy grants, pause and resume do this)';
const BAD_PROOF =
  'unauthenticated: the first request must carry "proof", made with the control key in the config dir';

export class ControlSession {
  private state: 'hello' | 'proof' | 'trusted' = 'hello';
  private clientNonce = '';
  private readonly serverNonce = newNonce();

  constructor(
    private readonly secret: Buffer,
    private readonly broker: ApprovalBroker,
    private readonly log: Logger,
    private readonly proxy: ProxyIdentity,
  ) {}

  /** Answer one request line. */
  handle(line: string): SessionReply {
    if (this.state === 'trusted') return { answer: this.act(line), close: false };
    const o = parseObject(line);
    if (this.state === 'hello') {
      if (o?.op !== 'hello' || typeof o.nonce !== 'string' || !NONCE_PATTERN.test(o.nonce))
        return refuse(HELLO);
      this.clientNonce = o.nonce;
      this.state = 'proof';
      const proof = serverProof(this.secret, this.clientNonce, this.serverNonce);
      return { answer: { ok: true, nonce: this.serverNonce, proof }, close: false };
    }
    const expected = clientProof(this.secret, this.clientNonce, this.serverNonce);
    if (!o || !proofMatches(o.proof, expected)) return refuse(BAD_PROOF);
    this.state = 'trusted';
    return { answer: this.act(line), close: false };
  }

  private act(line: string): ControlAnswer {
    const a = answerControl(line, this.broker, this.log, 'from another terminal');
    return a.ok ? { ...a, proxy: this.proxy } : a;
  }
}

const refuse = (error: string): SessionReply => ({ answer: { ok: false, error }, close: true });

function parseObject(line: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
