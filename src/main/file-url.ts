// Is a page's URL one of the app's own files? Compared as file-system paths, not strings:
// Chromium reports `file:///C:/…` where Node's pathToFileURL gives `file:///c:/…` (or the
// other way round), and Windows paths are case-insensitive. Pure, so Windows' rules are
// tested on any OS.
import { posix, win32 } from 'node:path';

/** The file-system path a file: URL names, or null for any other URL (or a remote host). */
export function fileUrlPath(url: string, platform: NodeJS.Platform): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== 'file:' || (u.host !== '' && u.host !== 'localhost')) return null;
  let path: string;
  try {
    path = decodeURIComponent(u.pathname);
  } catch {
    return null;
  }
  if (path.includes('\0')) return null;
  if (platform !== 'win32') return posix.normalize(path);
  // `/C:/x` → `C:\x`; a UNC or drive-less path is never one of ours.
  if (!/^\/[A-Za-z]:\//.test(path)) return null;
  return win32.normalize(path.slice(1));
}

/** True when `url` is a file: URL of a file inside `dir` (a folder path on this OS). */
export function isFileUrlInside(url: string, dir: string, platform: NodeJS.Platform): boolean {
  const path = fileUrlPath(url, platform);
  if (path === null) return false;
  const p = platform === 'win32' ? win32 : posix;
  const norm = (s: string) =>
    platform === 'win32' ? p.normalize(s).toLowerCase() : p.normalize(s);
  const rel = p.relative(norm(dir), norm(path));
  return rel !== '' && !rel.startsWith('..') && !p.isAbsolute(rel);
}

/** True when `url` (query and fragment aside) is exactly the file `file`. */
export function isFileUrlOf(url: string, file: string, platform: NodeJS.Platform): boolean {
  const path = fileUrlPath(url, platform);
  if (path === null) return false;
  if (platform !== 'win32') return path === posix.normalize(file);
  return path.toLowerCase() === win32.normalize(file).toLowerCase();
}
