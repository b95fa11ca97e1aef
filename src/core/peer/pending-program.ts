// A connection's program lookup as one request sees it: what is known right now, without
// waiting, and the wait itself. A request that needs no person (policy allow for a token
// holder, a live grant) takes what is already known and goes on — the lookup can cost a
// walk of /proc on a loaded machine, which every fresh connection of the shim would pay —
// while a request that will be put to a person waits (within the lookup's budget), so the
// prompt can name the program.
import type { PeerProcess } from './peer-process.js';

export interface PendingProgram {
  /** True once the lookup ended (found, unknown, or past its budget). */
  readonly settled: boolean;
  /** The program, once settled and found. */
  readonly found: PeerProcess | undefined;
  /** Resolves when the lookup ends (never rejects; bounded by the lookup's budget). */
  wait(): Promise<PeerProcess | undefined>;
}

export function pendingProgram(lookup: Promise<PeerProcess | undefined>): PendingProgram {
  const state = {
    settled: false,
    found: undefined as PeerProcess | undefined,
    wait: () => lookup,
  };
  void lookup.then(
    (p) => {
      state.settled = true;
      state.found = p;
    },
    () => {
      state.settled = true;
    },
  );
  return state;
}
