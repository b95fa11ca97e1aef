// SSH agent protocol messages a test sends on an upgraded /agent connection, and one
// request/answer exchange on it.
import type { Socket } from 'node:net';
import { byte, string, uint32 } from '../../src/core/ssh/wire.js';
import { SIGN_REQUEST } from './fixtures.js';

/** SSH_AGENTC_EXTENSION, the type of session-bind@openssh.com and `query`. */
export const EXTENSION = 27;

/** The key blob of an authorized_keys line (its base64 field, decoded). */
export const blobOfLine = (line: string): Buffer => Buffer.from(line.split(' ')[1]!, 'base64');

/** SSH_AGENTC_SIGN_REQUEST for the key `blob` over `data`. */
export const signRequest = (blob: Buffer, data: Buffer, flags = 0): Buffer =>
  Buffer.concat([byte(SIGN_REQUEST), string(blob), string(data), uint32(flags)]);

/** session-bind@openssh.com binding host key `hostBlob` to session `sid` by `signature`. */
export const sessionBind = (
  hostBlob: Buffer,
  sid: Buffer,
  signature: Buffer,
  forwarded = false,
): Buffer =>
  Buffer.concat([
    byte(EXTENSION),
    string('session-bind@openssh.com'),
    string(hostBlob),
    string(sid),
    string(signature),
    byte(forwarded ? 1 : 0),
  ]);

/** Send one request; resolves with its answer (the payload); rejects when the connection closes first. */
export function exchange(sock: Socket, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        sock.off('data', onData);
        sock.off('close', onClose);
        resolve(buf.subarray(4, 4 + buf.readUInt32BE(0)));
      }
    };
    const onClose = () => reject(new Error('closed'));
    sock.on('data', onData);
    sock.once('close', onClose);
    sock.resume();
    sock.write(Buffer.concat([uint32(payload.length), payload]));
  });
}
