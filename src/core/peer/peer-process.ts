// Who is on the other end of a same-host connection: the program that asks, as the host's
// kernel sees it. Information for the person deciding and for the audit trail — never
// authentication: a local process chooses its own name, arguments and working directory,
// and can exec another program after connecting. What it cannot choose is its pid, its
// parents, the start time the kernel recorded, or (where readable) the executable the
// kernel mapped and the cgroup it runs in.

/** One process, as identified by the host: the pid with its start time (pids are reused). */
export interface ProcessRef {
  pid: number;
  /** Short name: the kernel's command name (Linux comm, at most 15 bytes) or image name. */
  name: string;
  /** When the kernel started it, in the OS's own unit (Linux: clock ticks after boot). */
  startTime?: string;
}

/** The container a process runs in, from its cgroup. */
export interface ContainerRef {
  /** `docker`, `podman`, `containerd`, `cri-o`, `kubernetes` or `container` when unsure. */
  engine: string;
  id: string;
  /** The engine's name for it, when the engine's socket could be asked. */
  name?: string;
}

export interface PeerProcess extends ProcessRef {
  /** The executable file, when readable. */
  exe?: string;
  /** Its working directory, when readable. */
  cwd?: string;
  /** Parent, grandparent, … (nearest first), as far as they are readable and bounded. */
  parents: ProcessRef[];
  container?: ContainerRef;
}

/** What the proxy knows of a connection, enough to find the process at the other end. */
export type PeerConnection =
  | {
      transport: 'tcp';
      /** The client's end (the peer's local address). */
      remoteAddress: string;
      remotePort: number;
      /** Our end (the listening socket's address and port). */
      localAddress: string;
      localPort: number;
    }
  | {
      transport: 'unix';
      /** The socket path we listen on. */
      path: string;
      /** Our file descriptor of the accepted connection, where the platform exposes one. */
      fd: number | undefined;
    };

/**
 * One implementation per OS (peer-finder-*.ts), chosen at start (choose-peer-finder.ts).
 * `find` resolves undefined when the process cannot be seen (another user's, another
 * network namespace, the tools missing) and stops work when `signal` aborts.
 */
export interface PeerFinder {
  /** How this finder looks, for the log: e.g. `/proc`, `lsof`, `netstat + CIM`. */
  readonly method: string;
  /** How long a request may wait for this finder, when its tools are slow to start. */
  readonly budgetMs?: number;
  find(conn: PeerConnection, signal: AbortSignal): Promise<PeerProcess | undefined>;
}

/** Parents shown after the program in one line (`git (pid 1234) ← bash ← kitty`). */
const SHOWN_PARENTS = 3;

/** The one-line form: `curl (pid 1234) ← sh ← git ← bash`, and its container when known. */
export function describePeer(p: PeerProcess): string {
  const chain = [
    `${p.name} (pid ${p.pid})`,
    ...p.parents.slice(0, SHOWN_PARENTS).map((q) => q.name),
  ].join(' ← ');
  const c = p.container;
  return c ? `${chain} in ${c.engine} container ${c.name ?? c.id.slice(0, 12)}` : chain;
}

/** The expanded form: where it runs from, as labelled values. */
export function peerDetails(p: PeerProcess): { label: string; value: string }[] {
  return [
    ...(p.exe ? [{ label: 'Executable', value: p.exe }] : []),
    ...(p.cwd ? [{ label: 'Directory', value: p.cwd }] : []),
    ...(p.parents.length
      ? [
          {
            label: 'Parents',
            value: p.parents.map((q) => `${q.name} (pid ${q.pid})`).join(' ← '),
          },
        ]
      : []),
    ...(p.container
      ? [{ label: 'Container', value: `${p.container.engine} ${p.container.id}` }]
      : []),
  ];
}
