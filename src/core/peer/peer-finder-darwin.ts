// macOS: lsof and ps, which ship with the OS and read the kernel through libproc
// (proc_pidinfo, proc_pidfdinfo). UNRUN HERE: written against lsof(8) and ps(1) and run
// only in the macOS leg of the CI matrix.
//   loopback TCP  `lsof -nP -iTCP@ADDR:PORT -F pcRn` lists every process with a socket on
//                 that address and port — the client, and this process's accepted end,
//                 which is skipped; the client's file is the one named `ADDR:PORT->…`.
//   Unix socket   lsof shows a Unix socket's kernel address as its device (`d0x…`) and its
//                 peer's as its name (`n->0x…`): our descriptor's peer address is looked
//                 up among all Unix sockets' devices.
//   the process   one `ps -axo pid=,ppid=,lstart=,comm=` for the name, start time and the
//                 parent chain (comm is the executable's path on macOS); `lsof -d cwd` for
//                 the working directory. Containers run in Docker Desktop's VM: such a
//                 client shows as the engine's own process (com.docker.backend, vpnkit).
import { basename } from 'node:path';
import { runTool } from './run-tool.js';
import type { PeerConnection, PeerFinder, PeerProcess, ProcessRef } from './peer-process.js';

const MAX_PARENTS = 8;

export interface LsofFile {
  pid: number;
  command: string;
  ppid?: number;
  fd?: string;
  device?: string;
  name?: string;
}

/** lsof's -F output: `p` starts a process, `f` a file; other fields belong to the last. */
export function parseLsof(text: string): LsofFile[] {
  const files: LsofFile[] = [];
  let proc: { pid: number; command: string; ppid?: number } | null = null;
  let file: LsofFile | null = null;
  for (const line of text.split('\n')) {
    const tag = line[0];
    const v = line.slice(1);
    if (tag === 'p') {
      proc = { pid: Number(v), command: '' };
      file = null;
    } else if (!proc) {
      continue;
    } else if (tag === 'c') proc.command = v;
    else if (tag === 'R') proc.ppid = Number(v);
    else if (tag === 'f') {
      file = { ...proc, fd: v };
      files.push(file);
    } else if (file && tag === 'd') file.device = v;
    else if (file && tag === 'n') file.name = v;
  }
  return files;
}

export interface PsRow extends ProcessRef {
  ppid: number;
  command: string;
}

/** `ps -axo pid=,ppid=,lstart=,comm=` rows; lstart is five words (`Fri Dec  4 13:00:00 2026`). */
export function parsePs(text: string): Map<number, PsRow> {
  const rows = new Map<number, PsRow>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\S+\s+\S+\s+\d+\s+[\d:]+\s+\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const command = m[4]!.trim();
    rows.set(Number(m[1]), {
      pid: Number(m[1]),
      ppid: Number(m[2]),
      startTime: m[3]!.replace(/\s+/g, ' '),
      command,
      name: basename(command),
    });
  }
  return rows;
}

const lsofHost = (a: string) => {
  const v4 = a.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
  return v4.includes(':') ? `[${v4}]` : v4;
};

async function describe(pid: number, signal: AbortSignal): Promise<PeerProcess | undefined> {
  const ps = await runTool('ps', ['-axo', 'pid=,ppid=,lstart=,comm='], signal);
  const rows = ps ? parsePs(ps) : new Map<number, PsRow>();
  const me = rows.get(pid);
  if (!me) return undefined;
  const parents: ProcessRef[] = [];
  for (let p = rows.get(me.ppid); p && p.pid > 1 && parents.length < MAX_PARENTS;) {
    parents.push({ pid: p.pid, name: p.name, startTime: p.startTime });
    p = rows.get(p.ppid);
  }
  const cwdOut = await runTool(
    'lsof',
    ['-nP', '-a', '-p', String(pid), '-d', 'cwd', '-Ffn'],
    signal,
  );
  const cwd = cwdOut && parseLsof(cwdOut).find((f) => f.fd === 'cwd')?.name;
  return {
    pid,
    name: me.name,
    ...(me.startTime ? { startTime: me.startTime } : {}),
    ...(me.command.startsWith('/') ? { exe: me.command } : {}),
    ...(cwd ? { cwd } : {}),
    parents,
  };
}

export class DarwinPeerFinder implements PeerFinder {
  readonly method = 'lsof + ps';

  async find(conn: PeerConnection, signal: AbortSignal): Promise<PeerProcess | undefined> {
    let holder: LsofFile | undefined;
    if (conn.transport === 'tcp') {
      const here = `${lsofHost(conn.remoteAddress)}:${conn.remotePort}`;
      const out = await runTool('lsof', ['-nP', `-iTCP@${here}`, '-FpcRfn'], signal);
      holder = out
        ? parseLsof(out).find(
            (f) =>
              f.pid !== process.pid &&
              f.name?.startsWith(`${here}->`) === true &&
              f.name.endsWith(`:${conn.localPort}`),
          )
        : undefined;
    } else {
      if (conn.fd === undefined) return undefined;
      const mine = await runTool(
        'lsof',
        ['-nP', '-a', '-p', String(process.pid), '-d', String(conn.fd), '-U', '-Ffdn'],
        signal,
      );
      const peer = mine && /->(0x[0-9a-f]+)/i.exec(parseLsof(mine)[0]?.name ?? '')?.[1];
      if (!peer) return undefined;
      const all = await runTool('lsof', ['-nP', '-U', '-FpcRfdn'], signal);
      holder = all
        ? parseLsof(all).find(
            (f) => f.pid !== process.pid && f.device?.toLowerCase() === peer.toLowerCase(),
          )
        : undefined;
    }
    if (!holder || signal.aborted) return undefined;
    return describe(holder.pid, signal);
  }
}
