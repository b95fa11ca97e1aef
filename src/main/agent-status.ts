// Whether the agent answers and how many keys it holds, for the tray icon and status
// line: probed now and then (and after each request), never on the signing path.
import { probeAgent } from '../core/agent/agent-discovery.js';
import type { RunningProxy } from '../core/proxy.js';
import type { StatusView } from '../ipc-contract.js';

export class AgentStatus {
  private reachable = false;
  private keyCount = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly proxy: RunningProxy,
    private readonly everyMs = 15_000,
  ) {}

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async refresh(): Promise<void> {
    const agent = this.proxy.config.agent;
    const probe = agent ? await probeAgent({ name: agent.source, path: agent.path }) : null;
    const reachable = probe?.reachable ?? false;
    const keyCount = probe?.keyCount ?? 0;
    if (reachable !== this.reachable || keyCount !== this.keyCount) {
      this.reachable = reachable;
      this.keyCount = keyCount;
      for (const fn of this.listeners) fn();
    }
  }

  view(): StatusView {
    const { broker, config } = this.proxy;
    return {
      url: this.proxy.url(),
      agentPath: config.agent?.path ?? null,
      agentSource: config.agent?.source ?? null,
      agentReachable: this.reachable,
      keyCount: this.keyCount,
      paused: broker.paused,
      policy: broker.policy,
      pending: broker.queue().length,
      auditWritable: this.proxy.auditStatus().writable,
    };
  }
}
