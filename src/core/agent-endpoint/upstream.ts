// The upstream agent as one endpoint connection sees it: a single agent connection,
// dialled at the first request that needs it (the lazy agent channel) and closed with the
// client's connection, so the upstream agent sees the client's session-bind and later
// requests on the same connection and applies its own destination constraints. One
// request at a time; every answer is bounded and untrusted.
import type { Socket } from 'node:net';
import { dialAgent } from '../agent/agent-dialer.js';
import type { AgentTimeouts } from '../agent/agent-client.js';
import { ProxyError } from '../errors.js';
import { frame, FrameError, FrameReader } from './frames.js';

export class UpstreamChannel {
  private sock: Socket | null = null;
  private dialing: Promise<Socket> | null = null;
  private closed = false;
  private readonly closeListeners = new Set<() => void>();

  constructor(
    private readonly path: () => string,
    private readonly timeouts: AgentTimeouts,
  ) {}

  /** Called once when the upstream connection ends unexpectedly (the client's must end too). */
  onClose(fn: () => void): void {
    this.closeListeners.add(fn);
  }

  private async socket(): Promise<Socket> {
    if (this.closed) throw new ProxyError(503, 'connection-closed', 'the connection is closed');
    if (this.sock) return this.sock;
    this.dialing ??= dialAgent(this.path(), this.timeouts.connectMs).then((s) => {
      if (this.closed) {
        s.destroy();
        throw new ProxyError(503, 'connection-closed', 'the connection is closed');
      }
      this.sock = s;
      s.on('error', () => s.destroy());
      s.on('close', () => {
        if (!this.closed) for (const fn of this.closeListeners) fn();
        this.close();
      });
      return s;
    });
    return this.dialing;
  }

  /** Send one message, read exactly one answer (its payload). Errors close the channel. */
  async request(payload: Buffer, timeoutMs: number, what: string): Promise<Buffer> {
    const sock = await this.socket();
    return new Promise<Buffer>((resolve, reject) => {
      const reader = new FrameReader();
      let settled = false;
      const finish = (err: Error | null, value?: Buffer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.off('data', onData);
        sock.off('close', onClose);
        if (err) {
          this.close();
          reject(err);
        } else resolve(value!);
      };
      const onData = (chunk: Buffer) => {
        let frames: Buffer[];
        try {
          frames = reader.push(chunk);
        } catch (err) {
          return finish(
            new ProxyError(
              502,
              'agent-protocol-error',
              `the agent sent ${(err as FrameError).message}`,
            ),
          );
        }
        if (frames.length === 0) return;
        if (frames.length > 1 || reader.buffered > 0)
          return finish(
            new ProxyError(502, 'agent-protocol-error', 'the agent sent unasked-for bytes'),
          );
        finish(null, frames[0]);
      };
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
              `the agent did not answer ${what} within ${Math.round(timeoutMs / 1000)} s`,
            ),
          ),
        timeoutMs,
      );
      sock.on('data', onData);
      sock.on('close', onClose);
      sock.write(frame(payload));
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock?.destroy();
    this.dialing?.then(
      (s) => s.destroy(),
      () => {},
    );
  }
}
