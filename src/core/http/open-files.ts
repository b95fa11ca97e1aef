// The open-files limit, read at start so the connection caps fit under it: past it,
// accept() fails with EMFILE and every client is refused, the person's too. Plain Node
// raises the soft limit to the hard one as it starts (its PlatformInit, on POSIX), and the
// tray raises Electron's with process.setFdLimit; past the hard limit only the service
// unit's LimitNOFILE= or `ulimit -Hn` helps. Read from /proc on Linux; elsewhere it is not
// known here.
import { readFileSync } from 'node:fs';

export interface OpenFilesLimit {
  soft: number;
  hard: number;
}

/** The soft and hard limits from a /proc/PID/limits text; null when absent or unlimited. */
export function parseOpenFilesLimit(text: string): OpenFilesLimit | null {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(text);
  if (!m || m[1] === 'unlimited') return null;
  return { soft: Number(m[1]), hard: m[2] === 'unlimited' ? Infinity : Number(m[2]) };
}

export function openFilesLimit(): OpenFilesLimit | null {
  if (process.platform !== 'linux') return null;
  try {
    return parseOpenFilesLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return null;
  }
}

/** Descriptors kept for everything that is not a client connection: logs, the audit, the token file, listeners. */
export const SPARE_DESCRIPTORS = 64;

/**
 * Client connections that fit under `soft` descriptors: each may hold an upstream agent
 * connection too (the agent endpoint), so at most half of what is left after the spare.
 */
export function connectionsWithin(configured: number, limit: OpenFilesLimit | null): number {
  if (!limit) return configured;
  return Math.max(8, Math.min(configured, Math.floor((limit.soft - SPARE_DESCRIPTORS) / 2)));
}
