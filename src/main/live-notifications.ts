// Notifications held until they are done. A Notification only referenced by a local
// variable can be garbage-collected while it is on screen, and then its `click` never
// arrives. Each one is kept until `click`, `close` or `failed`; `failed` is logged
// (unsigned macOS builds get it since Electron 42: they may not post notifications).
import type { Notification } from 'electron';
import type { Logger } from '../core/logger.js';

type NotificationLike = Pick<Notification, 'on' | 'show'>;

export class LiveNotifications {
  private readonly live = new Set<NotificationLike>();

  constructor(private readonly log: Logger) {}

  get size(): number {
    return this.live.size;
  }

  show(n: NotificationLike, onClick: () => void): void {
    this.live.add(n);
    const done = () => this.live.delete(n);
    n.on('click', () => {
      done();
      onClick();
    });
    n.on('close', done);
    n.on('failed', (_event, error) => {
      done();
      this.log.warn(`notification could not be shown: ${error}`);
    });
    n.show();
  }
}
