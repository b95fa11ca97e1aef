// Parsing the client's requests and writing the endpoint's answers (agent protocol,
// draft-miller-ssh-agent). Every request is untrusted: anything malformed is a WireError,
// answered SSH_AGENT_FAILURE by the server.
import { readIdentities, type Identity } from '../agent/agent-client.js';
import { fingerprint, isCanonicalBlob, parseKeyBlob, type PublicKey } from '../ssh/keys.js';
import { byte, Reader, string, uint32, WireError } from '../ssh/wire.js';
import {
  QUERY,
  SESSION_BIND,
  SSH_AGENT_EXTENSION_RESPONSE,
  SSH_AGENT_IDENTITIES_ANSWER,
  SSH_AGENT_SIGN_RESPONSE,
} from './messages.js';

export interface SignRequest {
  key: PublicKey;
  fingerprint: string;
  data: Buffer;
  flags: number;
}

/** The body of SSH_AGENTC_SIGN_REQUEST (after the type byte). */
export function parseSignRequest(r: Reader): SignRequest {
  const blob = Buffer.from(r.string('key blob'));
  const data = Buffer.from(r.string('data'));
  const flags = r.uint32('flags');
  r.end('sign request');
  const key = parseKeyBlob(blob);
  // Else the fingerprint shown and recorded would name no key, while the agent signs with
  // the user's (see isCanonicalBlob).
  if (!isCanonicalBlob(key))
    throw new WireError('key blob: not encoded as OpenSSH writes this key');
  return { key, fingerprint: fingerprint(blob), data, flags };
}

export function identitiesAnswer(ids: readonly Identity[]): Buffer {
  return Buffer.concat([
    byte(SSH_AGENT_IDENTITIES_ANSWER),
    uint32(ids.length),
    ...ids.flatMap((id) => [string(id.key.blob), string(id.comment)]),
  ]);
}

export function signResponse(signature: Buffer): Buffer {
  return Buffer.concat([byte(SSH_AGENT_SIGN_RESPONSE), string(signature)]);
}

/** The answer to the `query` extension: the extensions this endpoint itself handles. */
export function queryAnswer(): Buffer {
  return Buffer.concat([byte(SSH_AGENT_EXTENSION_RESPONSE), string(QUERY), string(SESSION_BIND)]);
}

/** The upstream agent's IDENTITIES_ANSWER payload (type byte included), checked. */
export function parseIdentitiesAnswer(payload: Buffer): Identity[] {
  const r = new Reader(payload);
  if (r.byte('message type') !== SSH_AGENT_IDENTITIES_ANSWER)
    throw new WireError('not an identities answer');
  return readIdentities(r);
}

/** The upstream agent's SIGN_RESPONSE payload → the signature blob (null for a refusal). */
export function parseSignResponse(payload: Buffer): Buffer | null {
  const r = new Reader(payload);
  const type = r.byte('message type');
  if (type !== SSH_AGENT_SIGN_RESPONSE) {
    if (payload.length === 1) return null; // FAILURE and its kin: a refusal
    throw new WireError(`message type ${type} to a sign request`);
  }
  const sig = Buffer.from(r.string('signature'));
  r.end('sign response');
  return sig;
}
