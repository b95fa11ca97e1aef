// The control channel's shared secret: made afresh each time a proxy starts its channel and
// written to `<config dir>/control.key`, which only the person can read (mode 0600 in a 0700
// dir on POSIX; on Windows the per-user ACL of %APPDATA%). Whoever can read it is the person:
// a client proves it to the proxy, and the proxy proves it to the client, before either
// trusts the other (control-session.ts). The socket path or pipe name alone proves nothing:
// a pipe name is predictable, and another user (or a stale or foreign process) may hold it.
//
// Proofs are HMAC-SHA256 over both sides' nonces, with a label per direction, so a proof
// made by one side is never a valid proof of the other (no reflection).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  lstatSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

export const CONTROL_KEY_FILE = 'control.key';
const SECRET_BYTES = 32;
/** A nonce, as sent: 32 random bytes in hex. */
export const NONCE_PATTERN = /^[0-9a-f]{64}$/;

export class ControlKeyError extends Error {
  override name = 'ControlKeyError';
}

export const controlKeyPath = (configDir: string) => join(configDir, CONTROL_KEY_FILE);

export const newSecret = (): Buffer => randomBytes(SECRET_BYTES);
export const newNonce = (): string => randomBytes(32).toString('hex');

/** Write the secret for clients to read: a new file of mode 0600, renamed into place. */
export function writeControlKey(configDir: string, secret: Buffer): void {
  const path = controlKeyPath(configDir);
  const tmp = `${path}.${process.pid}.${newNonce().slice(0, 8)}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${secret.toString('hex')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Remove the key file if it still holds `secret` (not another proxy's, written since). */
export function removeControlKey(configDir: string, secret: Buffer): void {
  const path = controlKeyPath(configDir);
  try {
    if (readFileSync(path, 'utf8').trim() === secret.toString('hex')) unlinkSync(path);
  } catch {
    // already gone, or unreadable: nothing of ours to remove
  }
}

/** The secret of the proxy running with `configDir`, or a ControlKeyError saying why not. */
export function readControlKey(configDir: string): Buffer {
  const path = controlKeyPath(configDir);
  let st;
  try {
    st = lstatSync(path);
  } catch {
    throw new ControlKeyError(
      `no proxy is running with the config dir ${configDir} (no ${CONTROL_KEY_FILE} there); start one with: ssh-agent-proxy --console`,
    );
  }
  if (!st.isFile()) throw new ControlKeyError(`${path} is not a file; refusing to use it`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid)
    throw new ControlKeyError(`${path} belongs to another user; refusing to use it`);
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0)
    throw new ControlKeyError(
      `${path} can be read by other users (mode ${(st.mode & 0o777).toString(8)}); refusing to use it — restart the proxy`,
    );
  const hex = readFileSync(path, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(hex))
    throw new ControlKeyError(`${path} does not hold a control key; restart the proxy`);
  return Buffer.from(hex, 'hex');
}

function proof(label: string, secret: Buffer, clientNonce: string, serverNonce: string): string {
  return createHmac('sha256', secret)
    .update(`ssh-agent-proxy control ${label}\0${clientNonce}\0${serverNonce}`)
    .digest('hex');
}

/** What the proxy answers to a client's hello: it knows the secret. */
export const serverProof = (secret: Buffer, clientNonce: string, serverNonce: string) =>
  proof('server', secret, clientNonce, serverNonce);

/** What the client sends with its first request: it knows the secret. */
export const clientProof = (secret: Buffer, clientNonce: string, serverNonce: string) =>
  proof('client', secret, clientNonce, serverNonce);

/** Compare a received proof with the expected one in constant time. */
export function proofMatches(received: unknown, expected: string): boolean {
  if (typeof received !== 'string' || received.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(received), Buffer.from(expected));
}
