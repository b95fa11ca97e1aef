// `ssh-agent-proxy grants [revoke ID]`, `… pause`, `… resume`: one request to the running
// proxy over its control channel (core/control), never over HTTP. Before sending, the
// socket must be a socket and the person's own: a file someone else put there gets no
// request; and whatever answers must prove it knows the control key in the config dir
// (control-key.ts) before the request is sent — a foreign, stale or other user's process at
// that path or pipe name cannot make `pause` print "paused". Every failure is one line saying what to do, exit code 1.
import { lstatSync } from 'node:fs';
import { connect } from 'node:net';
import {
  formatGrant,
  type ControlAnswer,
  type ControlRequest,
} from '../core/control/control-protocol.js';
import { checkSocketPathLength, controlSocketPath } from '../core/control/control-socket.js';
import {
  clientProof,
  controlKeyPath,
  newNonce,
  NONCE_PATTERN,
  proofMatches,
  readControlKey,
  serverProof,
} from '../core/control/control-key.js';

const ANSWER_TIMEOUT_MS = 10_000;
const MAX_ANSWER_BYTES = 1 << 20;

export class ControlClientError extends Error {
  override name = 'ControlClientError';
}

function checkSocketFile(path: string, configDir: string): void {
  if (path.startsWith('\\\\.\\pipe\\')) return; // connect() says whether it exists
  try {
    checkSocketPathLength(path);
  } catch (err) {
    throw new ControlClientError((err as Error).message);
  }
  let st;
  try {
    st = lstatSync(path);
  } catch {
    throw new ControlClientError(
      `no proxy is running with the config dir ${configDir} (no control socket at ${path}); start one with: ssh-agent-proxy --console`,
    );
  }
  if (!st.isSocket())
    throw new ControlClientError(
      `${path} is not a socket; refusing to use it (remove it, then restart the proxy)`,
    );
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid)
    throw new ControlClientError(`${path} belongs to another user; refusing to use it`);
}

/**
 * Send one request, read its one-line answer. First the handshake (control-session.ts): the
 * proxy must prove it knows this config dir's control key before the request is sent, and
 * the request carries our proof. Whatever answers without the key gets nothing.
 */
export function controlRequest(
  configDir: string,
  req: ControlRequest,
  path = controlSocketPath(configDir),
): Promise<ControlAnswer> {
  checkSocketFile(path, configDir);
  let secret: Buffer;
  try {
    secret = readControlKey(configDir);
  } catch (err) {
    throw new ControlClientError((err as Error).message);
  }
  const nonce = newNonce();
  return new Promise((resolve, reject) => {
    const sock = connect({ path });
    let got = '';
    let greeted = false;
    const fail = (msg: string) => {
      sock.destroy();
      reject(new ControlClientError(msg));
    };
    const impostor = () =>
      fail(
        `the process answering at ${path} did not prove it knows the control key in ${controlKeyPath(configDir)}: it is not the proxy running with this config dir (another user's, or a stale or foreign process); nothing was sent — stop it, then restart the proxy`,
      );
    sock.setEncoding('utf8');
    sock.setTimeout(ANSWER_TIMEOUT_MS, () =>
      fail(`the proxy at ${path} did not answer within ${ANSWER_TIMEOUT_MS / 1000} s`),
    );
    sock.on('error', (err: NodeJS.ErrnoException) =>
      fail(
        err.code === 'ECONNREFUSED' || err.code === 'ENOENT'
          ? `no proxy is listening at ${path} (it stopped); start one with: ssh-agent-proxy --console`
          : `cannot reach the proxy at ${path} (${err.code ?? err.message})`,
      ),
    );
    const onLine = (line: string) => {
      let a: unknown;
      try {
        a = JSON.parse(line);
      } catch {
        return fail(`the proxy at ${path} sent an answer that is not JSON`);
      }
      const o = (typeof a === 'object' && a !== null ? a : {}) as Record<string, unknown>;
      if (!greeted) {
        greeted = true;
        if (o.ok !== true || typeof o.nonce !== 'string' || !NONCE_PATTERN.test(o.nonce))
          return impostor();
        if (!proofMatches(o.proof, serverProof(secret, nonce, o.nonce))) return impostor();
        const proof = clientProof(secret, nonce, o.nonce);
        sock.write(`${JSON.stringify({ ...req, proof })}\n`);
        return;
      }
      sock.end();
      resolve(o as unknown as ControlAnswer);
    };
    sock.on('data', (chunk: string) => {
      got += chunk;
      for (let nl = got.indexOf('\n'); nl >= 0; nl = got.indexOf('\n')) {
        const line = got.slice(0, nl);
        got = got.slice(nl + 1);
        onLine(line);
        if (sock.destroyed || sock.writableEnded) return;
      }
      if (got.length > MAX_ANSWER_BYTES) fail('the proxy sent an answer too long to be one');
    });
    sock.on('end', () =>
      fail(
        greeted
          ? `the proxy at ${path} closed the connection without answering`
          : `the process at ${path} closed the connection without proving it is the proxy`,
      ),
    );
    sock.write(`${JSON.stringify({ op: 'hello', nonce })}\n`);
  });
}

/** A line naming the proxy that acted, when the answer names it. */
function which(a: ControlAnswer): string[] {
  return a.ok && a.proxy ? [`(the proxy at ${a.proxy.url}, pid ${a.proxy.pid})`] : [];
}

/** `on the proxy at URL (pid N)`, when the answer names it. */
function where(a: ControlAnswer): string {
  return a.ok && a.proxy ? ` on the proxy at ${a.proxy.url} (pid ${a.proxy.pid})` : '';
}

/** What a command prints for an answer; throws ControlClientError for a refusal. */
export function describeAnswer(req: ControlRequest, a: ControlAnswer, now: number): string[] {
  if (!a.ok) throw new ControlClientError(a.error);
  const state = `signing is ${a.paused ? 'PAUSED (every request is refused; resume with: ssh-agent-proxy resume)' : 'on'}`;
  switch (req.op) {
    case 'pause':
      return [`signing paused${where(a)}: every request is refused until: ssh-agent-proxy resume`];
    case 'resume':
      return [`signing resumed${where(a)}: requests are handled again (approval ${a.policy})`];
    case 'revoke':
      return [`revoked grant ${a.revoked ? formatGrant(a.revoked, now) : req.id}`, ...which(a)];
    case 'grants':
    case 'status':
      return [
        ...(a.grants.length === 0 ? ['no live grants'] : a.grants.map((g) => formatGrant(g, now))),
        `${state}; ${a.pending} waiting for approval; grants end when the proxy stops`,
        ...which(a),
      ];
  }
}
