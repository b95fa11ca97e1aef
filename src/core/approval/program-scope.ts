// A grant scoped to one program: "allow git with this key for 10 minutes". It narrows a
// client's grant to the executable the kernel mapped for the asking process (and the
// container it runs in), never to the name a process gives itself and never to a pid
// (each `git commit` of a rebase is a new process). A request whose executable the host
// could not read has no scope, so it is never covered by a program-scoped grant.
//
// This is information made into a narrower rule, not authentication: a local process can
// copy a binary to a path of its choosing, so the scope holds only as far as which files
// a process could have run from that path — it never widens what the client's grant allows.
import type { PeerProcess } from '../peer/peer-process.js';
import { displayText } from '../display-text.js';

export interface ProgramScope {
  /** The executable's path, as the kernel reported it. */
  exe: string;
  /** The name the person saw when granting (shown, never matched). */
  name: string;
  /** `engine id` of its container when it runs in one, else ''. */
  container: string;
}

/** The scope a program-scoped grant for `p` would have; undefined when it cannot have one. */
export function programScope(p: PeerProcess | undefined): ProgramScope | undefined {
  // No executable (unreadable, another OS's tools), or one deleted since it was started
  // (the path may now hold another file): nothing the host verified to scope on.
  if (!p?.exe || p.exe.endsWith(' (deleted)')) return undefined;
  return {
    exe: p.exe,
    name: p.name,
    container: p.container ? `${p.container.engine} ${p.container.id}` : '',
  };
}

/** Whether a request from `p` is inside `scope`: same executable path, same container. */
export function inProgramScope(scope: ProgramScope, p: PeerProcess | undefined): boolean {
  const mine = programScope(p);
  return !!mine && mine.exe === scope.exe && mine.container === scope.container;
}

/**
 * "git (/usr/bin/git)", and its container — how a grant's scope reads to people. Made safe
 * to show (a name or path may hold control characters: a terminal must not obey them).
 */
export function programScopeText(s: ProgramScope): string {
  const text = `${s.name} (${s.exe})${s.container ? ` in ${s.container}` : ''}`;
  return displayText(text, 300);
}
