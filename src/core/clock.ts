// Time, injectable: the broker's deadlines and the rate limiter's waits run on it, so
// their tests drive time by hand instead of sleeping.
export interface Clock {
  now(): number;
  /** Returns a cancel function. */
  setTimer(fn: () => void, ms: number): () => void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return () => clearTimeout(t);
  },
};
