// Time moved by hand: timers fire only when the test advances the clock, so "waiting" is a
// state a test observes rather than a sleep.
import type { Clock } from '../../src/core/clock.js';

export class ManualClock implements Clock {
  /** Timers set and not yet fired or cancelled. */
  timers: { at: number; fn: () => void }[] = [];
  constructor(public t = 0) {}
  now = () => this.t;
  setTimer = (fn: () => void, ms: number) => {
    const timer = { at: this.t + ms, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((x) => x !== timer);
    };
  };
  /** Move time on by `ms`, firing each timer due by then in the order they fall due. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}
