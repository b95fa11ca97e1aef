// Linux: the kernel's own tables under /proc, read the way ss, lsof and fuser read them.
//   loopback TCP  the client's end in /proc/net/tcp{,6} (its address:port → socket inode),
//                 then the process holding `socket:[inode]` among /proc/PID/fd.
//   Unix socket   our end's inode from /proc/self/fd/FD; its peer's inode only the kernel's
//                 socket diagnostics (netlink sock_diag, UNIX_DIAG_PEER) tell, which Node
//                 cannot open — so `ss -xnH` (iproute2) is asked for it, and read strictly
//                 (see unixPeerInodeIn). Without ss the program is unknown.
// Only processes of the same user are readable (/proc/PID/fd is owner-only), which is
// the case that matters: another user's process could not reach the 0700 socket directory,
// and one on loopback TCP is shown as unknown.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { containerCgroupFrom, verifiedContainer } from './cgroup-container.js';
import { nameContainer } from './container-name.js';
import { runTool } from './run-tool.js';
import type { PeerConnection, PeerFinder, PeerProcess, ProcessRef } from './peer-process.js';

/** Parents followed up the tree (bounded; pid 1 and the kernel's 0 end it anyway). */
const MAX_PARENTS = 8;
/** Work done between yields to the event loop while scanning /proc. */
const SLICE_MS = 4;

/** An address as the URL parser writes it, so both sides compare alike. */
function canonical(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const a = mapped ? mapped[1]! : address;
  try {
    return new URL(`http://${a.includes(':') ? `[${a}]` : a}/`).hostname;
  } catch {
    return a;
  }
}

/** `0100007F` → 127.0.0.1: each 32-bit word is printed as a host-order integer. */
export function procAddress(hex: string): string {
  const b = Buffer.from(hex, 'hex');
  if (endianness() === 'LE')
    for (let i = 0; i + 4 <= b.length; i += 4) b.subarray(i, i + 4).reverse();
  if (b.length === 4) return b.join('.');
  // An IPv4-mapped IPv6 address is the IPv4 one (a v6 socket reaching a v4 listener).
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff)
    return b.subarray(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return canonical(groups.join(':'));
}

/** The inode of the socket whose local end is `address:port` talking to our `localPort`. */
export function tcpInodeIn(
  table: string,
  address: string,
  port: number,
  localPort: number,
): number | undefined {
  const want = canonical(address);
  for (const line of table.split('\n')) {
    const f = line.trim().split(/\s+/);
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
    if (f.length < 10 || !/^\d+:$/.test(f[0]!)) continue;
    const [lAddr, lPort] = f[1]!.split(':');
    const [, rPort] = f[2]!.split(':');
    if (parseInt(lPort ?? '', 16) !== port || parseInt(rPort ?? '', 16) !== localPort) continue;
    if (procAddress(lAddr ?? '') !== want) continue;
    const inode = Number(f[9]);
    if (Number.isSafeInteger(inode) && inode > 0) return inode;
  }
  return undefined;
}

/** One row of `ss -xn`: netid, state, the two queues, then `name inode name inode`. */
const SS_ROW = /^u_(?:str|dgr|seq)\s+[A-Z][A-Z0-9-]*\s+\d+\s+\d+\s+\S.*\s\d+\s*$/;
/** A row's last three fields: its own inode, the peer's name (no spaces), the peer's inode. */
const OWN_AND_PEER = /\s(\d+)\s+\S+\s+(\d+)\s*$/;

/**
 * From `ss -xn` output: the peer inode of the socket whose own inode is `inode`. ss prints
 * socket names raw, so a name holding newlines (an abstract name any local user can bind)
 * prints lines of its binder's choosing — a forged row claiming our inode with a peer of
 * the forger's choice. Our own row is always there (we hold the socket), so a forgery shows
 * as a second row claiming our inode; that, or any row that is not a well-formed socket
 * row (the pieces around a forged one), makes the answer unknown rather than a guess.
 */
export function unixPeerInodeIn(ssOutput: string, inode: number): number | undefined {
  const lines = ssOutput.split('\n');
  // The header, when ss was not given -H.
  if (lines[0]?.startsWith('Netid ')) lines.shift();
  let peer: number | undefined;
  let claims = 0;
  for (const line of lines) {
    if (line.trim() === '') continue;
    if (!SS_ROW.test(line)) return undefined;
    const m = OWN_AND_PEER.exec(line);
    if (m && Number(m[1]) === inode) {
      claims++;
      peer = Number(m[2]);
    }
  }
  return claims === 1 && peer !== undefined && peer > 0 ? peer : undefined;
}

function socketInode(link: string): number | undefined {
  const m = /^socket:\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : undefined;
}

interface Stat {
  name: string;
  ppid: number;
  startTime: string;
}

/** /proc/PID/stat: the name is in parentheses and may itself hold spaces and ")". */
export function parseStat(text: string): Stat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state): ppid is field 4, starttime field 22.
  const ppid = Number(rest[1]);
  const startTime = rest[19];
  if (!Number.isSafeInteger(ppid) || !startTime) return undefined;
  return { name: text.slice(open + 1, close), ppid, startTime };
}

function readStat(pid: number): Stat | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

const yieldNow = () => new Promise<void>((r) => setImmediate(r));

type Holder = { pid: number; stat: Stat };

/**
 * Finds the processes holding sockets, one walk of /proc for every lookup waiting at the
 * time (a burst of new connections costs one walk, not one each). Newest pid first (a
 * client is usually young), this process last (it holds every accepted connection, and is
 * a client only in tests). A holder's stat is read while it still holds the socket, so a
 * pid reused a moment later is not mistaken for it. The walk runs in short slices so the
 * proxy keeps answering meanwhile; a lookup whose budget ends stops waiting for it.
 */
class SocketHolders {
  private readonly wanted = new Map<string, ((h: Holder | undefined) => void)[]>();
  private walking = false;

  find(inode: number, signal: AbortSignal): Promise<Holder | undefined> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve(undefined);
      const target = `socket:[${inode}]`;
      const done = (h: Holder | undefined) => {
        signal.removeEventListener('abort', onAbort);
        resolve(h);
      };
      const onAbort = () => {
        const list = this.wanted.get(target)?.filter((f) => f !== done);
        if (list?.length) this.wanted.set(target, list);
        else this.wanted.delete(target);
        resolve(undefined);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.wanted.set(target, [...(this.wanted.get(target) ?? []), done]);
      if (!this.walking) void this.walk();
    });
  }

  private settle(target: string, h: Holder | undefined): void {
    const list = this.wanted.get(target) ?? [];
    this.wanted.delete(target);
    for (const f of list) f(h);
  }

  /** Walk until nothing is wanted: a socket asked for mid-walk gets a walk of its own. */
  private async walk(): Promise<void> {
    this.walking = true;
    try {
      while (this.wanted.size > 0) {
        const round = new Set(this.wanted.keys());
        await this.walkOnce(round);
        for (const t of round) this.settle(t, undefined);
      }
    } finally {
      this.walking = false;
    }
  }

  private async walkOnce(round: Set<string>): Promise<void> {
    const pids = readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
      .filter((p) => p !== process.pid)
      .sort((a, b) => b - a);
    pids.push(process.pid);
    let slice = performance.now();
    for (const pid of pids) {
      if (performance.now() - slice > SLICE_MS) {
        await yieldNow();
        slice = performance.now();
      }
      // Lookups that gave up are no longer wanted.
      for (const t of round) if (!this.wanted.has(t)) round.delete(t);
      if (round.size === 0) return;
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue; // gone, or another user's
      }
      for (const fd of fds) {
        const link = readLink(`/proc/${pid}/fd/${fd}`);
        if (link === undefined || !round.has(link)) continue;
        const stat = readStat(pid);
        // Still the holder after its stat was read: the stat is that process's.
        const held = stat && readLink(`/proc/${pid}/fd/${fd}`) === link;
        round.delete(link);
        this.settle(link, held ? { pid, stat } : undefined);
        if (round.size === 0) return;
      }
    }
  }
}

function describe(pid: number, stat: Stat): PeerProcess {
  const parents: ProcessRef[] = [];
  let ppid = stat.ppid;
  while (ppid > 1 && parents.length < MAX_PARENTS) {
    const s = readStat(ppid);
    if (!s) break;
    parents.push({ pid: ppid, name: s.name, startTime: s.startTime });
    ppid = s.ppid;
  }
  let container;
  try {
    const cg = containerCgroupFrom(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
    container = cg && verifiedContainer(cg);
  } catch {
    container = undefined;
  }
  const exe = readLink(`/proc/${pid}/exe`);
  const cwd = readLink(`/proc/${pid}/cwd`);
  return {
    pid,
    name: stat.name,
    startTime: stat.startTime,
    ...(exe ? { exe } : {}),
    ...(cwd ? { cwd } : {}),
    parents,
    ...(container ? { container } : {}),
  };
}

/**
 * /proc/net/tcp read once for every lookup that asks while a read is under way — a busy
 * host's table runs to thousands of lines. A lookup joins the next read, never one already
 * started (that one may predate its connection), so at most two reads serve a burst.
 */
class SharedReads {
  private readonly current = new Map<string, Promise<string>>();
  private readonly next = new Map<string, Promise<string>>();

  read(path: string): Promise<string> {
    const queued = this.next.get(path);
    if (queued) return queued;
    const running = this.current.get(path);
    const start = () => {
      this.next.delete(path);
      const p = readFile(path, 'utf8').catch(() => '');
      this.current.set(path, p);
      void p.finally(() => {
        if (this.current.get(path) === p) this.current.delete(path);
      });
      return p;
    };
    if (!running) return start();
    const p = running.then(start);
    this.next.set(path, p);
    return p;
  }
}

export class LinuxPeerFinder implements PeerFinder {
  readonly method = '/proc (ss for Unix-socket peers)';
  private readonly holders = new SocketHolders();
  private readonly tables = new SharedReads();

  async find(conn: PeerConnection, signal: AbortSignal): Promise<PeerProcess | undefined> {
    let inode: number | undefined;
    if (conn.transport === 'tcp') {
      // The client's own family first: a busy host's table is long and slow to read.
      const v6 = conn.remoteAddress.includes(':') && !/^::ffff:\d/i.test(conn.remoteAddress);
      const tables = v6 ? ['/proc/net/tcp6', '/proc/net/tcp'] : ['/proc/net/tcp', '/proc/net/tcp6'];
      for (const table of tables) {
        const text = await this.tables.read(table);
        inode = tcpInodeIn(text, conn.remoteAddress, conn.remotePort, conn.localPort);
        if (inode) break;
      }
    } else {
      const ours =
        conn.fd === undefined ? undefined : socketInode(readLink(`/proc/self/fd/${conn.fd}`) ?? '');
      if (ours === undefined) return undefined;
      const out = await runTool('ss', ['-xnH'], signal);
      inode = out === undefined ? undefined : unixPeerInodeIn(out, ours);
    }
    if (!inode || signal.aborted) return undefined;
    const holder = await this.holders.find(inode, signal);
    if (!holder) return undefined;
    const found = describe(holder.pid, holder.stat);
    // Docker and Podman name their containers; the id is what the cgroup says. An unverified
    // one is not named: a real container's name would lend its look to a user-made cgroup.
    if (found.container && !found.container.unverified)
      found.container = await nameContainer(found.container, signal);
    return found;
  }
}
