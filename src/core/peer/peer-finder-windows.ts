// Windows: the TCP table's owning process (what netstat -ano and Get-NetTCPConnection read
// from GetExtendedTcpTable), then the process and its parents from Win32_Process (CIM).
// UNRUN HERE: written against the netstat and Win32_Process documentation and run only in
// the Windows leg of the CI matrix. There is no host-local agent socket on Windows, so only
// loopback TCP is looked up. PowerShell's start-up is slow (a few hundred ms), which is
// why this finder's budget is longer (budgetMs).
import { runTool } from './run-tool.js';
import type { PeerConnection, PeerFinder, PeerProcess, ProcessRef } from './peer-process.js';

const MAX_PARENTS = 8;

const netstatHost = (a: string) => {
  const v4 = a.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
  return v4.includes(':') ? `[${v4}]` : v4;
};

/** `  TCP    127.0.0.1:50123    127.0.0.1:7221    ESTABLISHED    4242` → 4242. */
export function owningPid(netstat: string, local: string, remotePort: number): number | undefined {
  for (const line of netstat.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] !== 'TCP' || f.length < 5) continue;
    if (f[1]!.toLowerCase() !== local.toLowerCase()) continue;
    if (!f[2]!.endsWith(`:${remotePort}`)) continue;
    const pid = Number(f[f.length - 1]);
    if (Number.isSafeInteger(pid) && pid > 0) return pid;
  }
  return undefined;
}

interface CimRow {
  pid: number;
  ppid: number;
  name: string;
  exe: string | null;
  start: string;
}

/** The process and its ancestors, one CIM query each; JSON out. */
const CHAIN = (pid: number) =>
  [
    `$p=${pid}; $out=@()`,
    `for($i=0; $i -le ${MAX_PARENTS} -and $p -gt 0; $i++){`,
    ` $q=Get-CimInstance Win32_Process -Filter "ProcessId=$p"; if(-not $q){break}`,
    ` $out+=[pscustomobject]@{pid=[int]$q.ProcessId; ppid=[int]$q.ParentProcessId; name=[string]$q.Name;`,
    `  exe=$q.ExecutablePath; start=$q.CreationDate.ToUniversalTime().ToString('o')}`,
    ` $p=$q.ParentProcessId }`,
    `ConvertTo-Json -Compress -InputObject $out`,
  ].join('\n');

/** Windows keeps a dead parent's pid: a "parent" created after its child is someone else. */
export function chainFromCim(rows: readonly CimRow[]): PeerProcess | undefined {
  const [me, ...up] = rows;
  if (!me) return undefined;
  const parents: ProcessRef[] = [];
  let child = me;
  for (const p of up) {
    if (p.pid !== child.ppid || p.start > child.start) break;
    parents.push({ pid: p.pid, name: p.name, startTime: p.start });
    child = p;
  }
  return {
    pid: me.pid,
    name: me.name,
    startTime: me.start,
    ...(me.exe ? { exe: me.exe } : {}),
    parents,
  };
}

export class WindowsPeerFinder implements PeerFinder {
  readonly method = 'netstat + Win32_Process';
  readonly budgetMs = 2_000;

  async find(conn: PeerConnection, signal: AbortSignal): Promise<PeerProcess | undefined> {
    if (conn.transport !== 'tcp') return undefined;
    const table = await runTool(
      'netstat',
      [
        '-ano',
        '-p',
        conn.remoteAddress.includes(':') && !conn.remoteAddress.startsWith('::ffff:')
          ? 'TCPv6'
          : 'TCP',
      ],
      signal,
    );
    const pid = table
      ? owningPid(table, `${netstatHost(conn.remoteAddress)}:${conn.remotePort}`, conn.localPort)
      : undefined;
    if (!pid || signal.aborted) return undefined;
    const json = await runTool(
      'powershell.exe',
      ['-NoProfile', '-NonInteractive', '-Command', CHAIN(pid)],
      signal,
    );
    if (!json) return { pid, name: `pid ${pid}`, parents: [] };
    try {
      const parsed = JSON.parse(json) as CimRow | CimRow[];
      return chainFromCim(Array.isArray(parsed) ? parsed : [parsed]);
    } catch {
      return undefined;
    }
  }
}
