// Which processes still run from the app's own folder: the main process and every Chromium
// helper it started. Matched by the executable's path, not its name or command line: on
// macOS the helpers are separate binaries inside the bundle ("SSH Agent Proxy Helper (GPU)"),
// on Linux they are the app's executable again (plus chrome_crashpad_handler beside it), on
// Windows the same .exe. Plain Node, so the Linux half is tested here (test/unit).
import { readdirSync, readlinkSync } from 'node:fs';
import { dirname, win32 } from 'node:path';
import { run } from '../helpers/openssh.js';

export interface AppProcess {
  pid: number;
  path: string;
}

/** The folder every process of the app runs from: the .app bundle on macOS, else the exe's folder. */
export function appRoot(executable: string, platform: NodeJS.Platform): string {
  if (platform === 'darwin') {
    const bundle = executable.indexOf('.app/');
    if (bundle >= 0) return executable.slice(0, bundle + '.app'.length);
  }
  return platform === 'win32' ? win32.dirname(win32.normalize(executable)) : dirname(executable);
}

async function allProcesses(platform: NodeJS.Platform): Promise<AppProcess[]> {
  if (platform === 'linux') {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .flatMap((d) => {
        try {
          const path = readlinkSync(`/proc/${d}/exe`).replace(/ \(deleted\)$/, '');
          return [{ pid: Number(d), path }];
        } catch {
          return []; // gone meanwhile, or another user's
        }
      });
  }
  if (platform === 'win32') {
    const r = await run('powershell', [
      '-NoProfile',
      '-Command',
      'Get-CimInstance Win32_Process | Where-Object ExecutablePath | ForEach-Object { "$($_.ProcessId)`t$($_.ExecutablePath)" }',
    ]);
    return parseLines(r.stdout, '\t');
  }
  // macOS: the full command line starts with the executable's path.
  const r = await run('ps', ['-axww', '-o', 'pid=,command=']);
  return parseLines(r.stdout, ' ');
}

function parseLines(text: string, sep: string): AppProcess[] {
  return text.split(/\r?\n/).flatMap((line) => {
    const m = line.trim();
    const at = m.indexOf(sep);
    if (at <= 0) return [];
    const pid = Number(m.slice(0, at));
    return Number.isInteger(pid) ? [{ pid, path: m.slice(at + 1).trim() }] : [];
  });
}

/** Those of `all` whose executable lies under `root`, by the OS's own path rules. */
export function underRoot(
  all: readonly AppProcess[],
  root: string,
  platform: NodeJS.Platform,
): AppProcess[] {
  // Windows: a path may come spelled with `/` (the workflow joins with one) and any case;
  // Win32_Process.ExecutablePath uses `\`.
  const windows = platform === 'win32';
  const sep = windows ? '\\' : '/';
  const fold = (p: string) => (windows ? win32.normalize(p).toLowerCase() : p);
  const prefix = fold(root.endsWith(sep) ? root : root + sep);
  return all.filter((p) => fold(p.path).startsWith(prefix));
}

export async function processesUnder(
  root: string,
  platform: NodeJS.Platform = process.platform,
): Promise<AppProcess[]> {
  return underRoot(await allProcesses(platform), root, platform);
}

/**
 * Waits, up to `timeoutMs`, for the last process under `root` to end (Chromium's helpers
 * may outlive the main process by a moment); answers those still running then.
 */
export async function leftUnder(
  root: string,
  timeoutMs: number,
  platform: NodeJS.Platform = process.platform,
): Promise<AppProcess[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const left = await processesUnder(root, platform);
    if (left.length === 0 || Date.now() > end) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}
