// The upstream agent as one endpoint connection sees it: a single agent connection,
// dialled at the first request that needs it (the lazy agent channel) and closed with the
// client's connection, so the upstream agent sees the client's session-bind and later
// requests on the same connection and applies its own destination constraints. One
// request at a time; every answer is bounded and untrusted.
import { AgentConnection, type AgentTimeouts } from '../agent/agent-client.js';
import { ProxyError } from '../errors.js';

export class UpstreamChannel {
  private conn: AgentConnection | null = null;
  private dialing: Promise<AgentConnection> | null = null;
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

  private async connection(): Promise<AgentConnection> {
    if (this.closed) throw new ProxyError(503, 'connection-closed', 'the connection is closed');
    if (this.conn) return this.conn;
    this.dialing ??= AgentConnection.open(this.path(), this.timeouts).then((c) => {
      if (this.closed) {
        c.close();
        throw new ProxyError(503, 'connection-closed', 'the connection is closed');
      }
      this.conn = c;
      c.sock.on('close', () => {
        if (!this.closed) for (const fn of this.closeListeners) fn();
        this.close();
      });
      return c;
    });
    return this.dialing;
  }

  /** Send one message, read exactly one answer (its payload). Errors close the channel. */
  async request(payload: Buffer, timeoutMs: number, what: string): Promise<Buffer> {
    const conn = await this.connection();
    try {
      return await conn.request(payload, timeoutMs, what);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.conn?.close();
    this.dialing?.then(
      (c) => c.close(),
      () => {},
    );
  }
}
