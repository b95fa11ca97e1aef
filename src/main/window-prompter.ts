// The tray's approval window as a Prompter: when a new request arrives it shows the
// window (without taking focus where the OS allows) and, if the window was not visible,
// posts a notification; when nothing waits any more (answered, withdrawn, timed out) it
// hides the window, so nothing stays on top saying there is nothing to do. While the
// screen is locked it can deny instead. Which request is shown and how it is answered is
// the renderer's and the broker's business.
import type { ApprovalBroker, PendingRequest, Prompter } from '../core/approval/approval-broker.js';
import { requestNotification } from '../core/approval/request-summary.js';

export interface ApprovalSurface {
  isVisible(): boolean;
  /** Show near the tray or centred on the active display, without stealing focus. */
  show(): void;
  hide(): void;
  notify(title: string, body: string): void;
}

export interface WindowPrompterOptions {
  broker: ApprovalBroker;
  surface: ApprovalSurface;
  denyWhenLocked: () => boolean;
  screenLocked: () => boolean;
}

export class WindowPrompter implements Prompter {
  private seen = new Set<string>();

  constructor(private readonly o: WindowPrompterOptions) {}

  update(queue: readonly PendingRequest[]): void {
    const fresh = queue.filter((r) => !this.seen.has(r.id));
    this.seen = new Set(queue.map((r) => r.id));
    if (queue.length === 0) {
      if (this.o.surface.isVisible()) this.o.surface.hide();
      return;
    }
    if (fresh.length === 0) return;
    if (this.o.denyWhenLocked() && this.o.screenLocked()) {
      for (const r of fresh) {
        this.o.broker.autoDeny(
          r.id,
          'screen-locked',
          'denied-screen-locked',
          'the screen is locked, and the tray denies requests while it is',
        );
      }
      return;
    }
    const wasVisible = this.o.surface.isVisible();
    this.o.surface.show();
    if (!wasVisible) {
      const n = requestNotification(fresh[0]!, queue.length);
      this.o.surface.notify(n.title, n.body);
    }
  }
}
