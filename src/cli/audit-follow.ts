// `audit --follow`: after the newest records, print each new one as it is written, like
// `tail -F`: the file is re-opened when it is rotated (renamed away) or truncated, and what
// was appended to the old file before the rotation is still read.
import { closeSync, fstatSync, openSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { parseAuditLines, type AuditRecord } from '../core/approval/audit.js';

export interface Follower {
  stop(): void;
}

const POLL_MS = 250;

/**
 * Follow `path` from its current end; `onRecord` gets each complete new record. Checks on
 * every change the folder reports and every POLL_MS (a watch alone misses some writes).
 */
export function followAudit(path: string, onRecord: (r: AuditRecord) => void): Follower {
  let fd: number | null = null;
  let ino = -1;
  let pos = 0;
  let partial = '';

  const open = (fromEnd: boolean) => {
    try {
      fd = openSync(path, 'r');
    } catch {
      fd = null; // not there yet (rotation in progress, or no record ever written)
      return;
    }
    const st = fstatSync(fd);
    ino = st.ino;
    pos = fromEnd ? st.size : 0;
    partial = '';
  };

  const drain = () => {
    if (fd === null) return;
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      pos += n;
      partial += buf.subarray(0, n).toString('utf8');
    }
    const end = partial.lastIndexOf('\n');
    if (end < 0) return;
    const complete = partial.slice(0, end + 1);
    partial = partial.slice(end + 1);
    for (const r of parseAuditLines(complete)) onRecord(r);
  };

  const check = () => {
    if (fd === null) {
      open(false);
      drain();
      return;
    }
    drain();
    let st;
    try {
      st = statSync(path);
    } catch {
      return; // renamed away; the new file appears soon
    }
    if (st.ino !== ino) {
      drain(); // the rest of the rotated file
      closeSync(fd);
      open(false);
      drain();
    } else if (st.size < pos) {
      pos = 0; // truncated
      partial = '';
      drain();
    }
  };

  open(true);
  const timer = setInterval(check, POLL_MS);
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), check);
    watcher.on('error', () => watcher?.close());
  } catch {
    // no folder to watch yet: polling covers it
  }
  return {
    stop() {
      clearInterval(timer);
      watcher?.close();
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}
