// Reading the person's known_hosts files for each lookup (they change as ssh learns
// hosts), bounded, with `~` meaning the home directory; a missing file names nothing.
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { PublicKey } from '../ssh/keys.js';
import { lookupHost, type HostName } from './known-hosts.js';

/** Larger files are skipped: no honest known_hosts is near this. */
const MAX_FILE = 16 << 20;

export function expandHome(path: string, home = homedir()): string {
  return path === '~' ? home : path.startsWith('~/') ? join(home, path.slice(2)) : path;
}

export function readKnownHosts(paths: readonly string[], home?: string): string {
  const texts: string[] = [];
  for (const p of paths) {
    const file = expandHome(p, home);
    try {
      if (statSync(file).size > MAX_FILE) continue;
      texts.push(readFileSync(file, 'utf8'));
    } catch {
      // missing or unreadable: it names nothing
    }
  }
  return texts.join('\n');
}

export function nameHostFromFiles(paths: readonly string[], hostKey: PublicKey): HostName {
  return lookupHost(readKnownHosts(paths), hostKey);
}
