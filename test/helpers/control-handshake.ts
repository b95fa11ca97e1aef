// The control channel's handshake (src/core/control/control-session.ts), for tests that talk
// to the channel line by line: say hello, check the proxy's proof, return the proof the first
// request must carry.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import {
  clientProof,
  newNonce,
  proofMatches,
  serverProof,
} from '../../src/core/control/control-key.js';

/** One line from `sock` (the handshake's answer); the listener is removed after it. */
function oneLine(sock: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (c: Buffer | string) => {
      got += c.toString();
      const nl = got.indexOf('\n');
      if (nl < 0) return;
      sock.off('data', onData);
      sock.off('close', onClose);
      resolve(got.slice(0, nl));
    };
    const onClose = () => reject(new Error(`closed before a line; got ${JSON.stringify(got)}`));
    sock.on('data', onData);
    sock.once('close', onClose);
  });
}

/** Say hello on `sock`; returns the proof to put in the first request. */
export async function handshake(sock: Socket, secret: Buffer): Promise<string> {
  const nonce = newNonce();
  sock.write(`${JSON.stringify({ op: 'hello', nonce })}\n`);
  const a = JSON.parse(await oneLine(sock)) as { ok: boolean; nonce: string; proof: string };
  assert.equal(a.ok, true, JSON.stringify(a));
  assert.ok(proofMatches(a.proof, serverProof(secret, nonce, a.nonce)), 'the proxy proved it');
  return clientProof(secret, nonce, a.nonce);
}
