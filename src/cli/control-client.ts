// `ssh-agent-proxy grants [revoke ID]`, `… pause`, `… resume`: one request to the running
// proxy over its control channel (core/control), never over HTTP. Before sending, the
// socket must be a socket and the person's own: a file someone else put there gets no
// request. Every failure is one line saying what to do, exit code 1.
import { lstatSync } from 'node:fs';
import { connect } from 'node:net';
import {
  formatGrant,
  type ControlAnswer,
  type ControlRequest,
} from '../core/control/control-protocol.js';
import { checkSocketPathLength, controlSocketPath } from '../core/control/control-socket.js';

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

/** Send one request, read its one-line answer. */
export function controlRequest(
  configDir: string,
  req: ControlRequest,
  path = controlSocketPath(configDir),
): Promise<ControlAnswer> {
  checkSocketFile(path, configDir);
  return new Promise((resolve, reject) => {
    const sock = connect({ path });
    let got = '';
    const fail = (msg: string) => {
      sock.destroy();
      reject(new ControlClientError(msg));
    };
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
    sock.on('data', (chunk: string) => {
      got += chunk;
      const nl = got.indexOf('\n');
      if (nl < 0) {
        if (got.length > MAX_ANSWER_BYTES) fail('the proxy sent an answer too long to be one');
        return;
      }
      sock.end();
      try {
        resolve(JSON.parse(got.slice(0, nl)) as ControlAnswer);
      } catch {
        reject(new ControlClientError(`the proxy at ${path} sent an answer that is not JSON`));
      }
    });
    sock.on('end', () => {
      if (!got.includes('\n')) fail(`the proxy at ${path} closed the connection without answering`);
    });
    sock.write(`${JSON.stringify(req)}\n`);
  });
}

/** What a command prints for an answer; throws ControlClientError for a refusal. */
export function describeAnswer(req: ControlRequest, a: ControlAnswer, now: number): string[] {
  if (!a.ok) throw new ControlClientError(a.error);
  const state = `signing is ${a.paused ? 'PAUSED (every request is refused; resume with: ssh-agent-proxy resume)' : 'on'}`;
  switch (req.op) {
    case 'pause':
      return ['signing paused: every request is refused until: ssh-agent-proxy resume'];
    case 'resume':
      return [`signing resumed: requests are handled again (approval ${a.policy})`];
    case 'revoke':
      return [`revoked grant ${a.revoked ? formatGrant(a.revoked, now) : req.id}`];
    case 'grants':
    case 'status':
      return [
        ...(a.grants.length === 0 ? ['no live grants'] : a.grants.map((g) => formatGrant(g, now))),
        `${state}; ${a.pending} waiting for approval; grants end when the proxy stops`,
      ];
  }
}
