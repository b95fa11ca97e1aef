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
  /**
   * Its cgroup is one the user could have made (not root-owned, or under the user's own
   * systemd manager: `systemd-run --user --scope --unit=docker-ID.scope` makes one that
   * reads like a container). Rootless containers are such too; shown as unverified.
   */
  unverified?: true;
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

/** The last part of a path, either separator (a Windows path read on any OS). */
function baseName(path: string): string {
  return (
    path
      .replace(/ \(deleted\)$/, '')
      .split(/[\\/]/)
      .pop() ?? path
  );
}

/**
 * Whether the name a process gives itself is not its executable's: a copy of a binary under
 * another name, `prctl(PR_SET_NAME)`, or a script (its name, its interpreter's exe). Linux
 * keeps at most 15 bytes of a name, so a long executable's name is compared as a prefix.
 */
export function nameDiffersFromExe(p: PeerProcess): boolean {
  if (!p.exe) return false;
  const base = baseName(p.exe).toLowerCase();
  const name = p.name.toLowerCase();
  return !(base === name || (name.length >= 15 && base.startsWith(name)));
}

/** How the container reads: verified from a root-owned cgroup, or not. */
function containerText(c: ContainerRef): string {
  const what = `${c.engine} container ${c.name ?? c.id.slice(0, 12)}`;
  return c.unverified
    ? `in a cgroup named as ${what} (unverified: a cgroup a user can make)`
    : `in ${what}`;
}

/**
 * The one-line form: `curl (pid 1234) ← sh ← git ← bash`, and its container when known.
 * A name that is not its executable's shows the executable: `git (pid 1234, exe /tmp/evil)`.
 */
export function describePeer(p: PeerProcess): string {
  const self = nameDiffersFromExe(p)
    ? `${p.name} (pid ${p.pid}, exe ${p.exe})`
    : `${p.name} (pid ${p.pid})`;
  const chain = [self, ...p.parents.slice(0, SHOWN_PARENTS).map((q) => q.name)].join(' ← ');
  return p.container ? `${chain} ${containerText(p.container)}` : chain;
}

/**
 * The audit record's form: the one line plus what the process cannot choose — the
 * executable the kernel mapped and its start time (so a reused pid is not taken for it).
 */
export function peerRecord(p: PeerProcess): string {
  return [
    describePeer(p),
    ...(p.exe ? [`exe ${p.exe}`] : []),
    ...(p.startTime ? [`started ${p.startTime}`] : []),
  ].join('; ');
}

/**
 * What groups a program's requests for one answer: what the person sees of it, without the
 * pids (each `git commit` of a rebase is a new process, the same program).
 */
export function programKind(p: PeerProcess | undefined): string {
  if (!p) return '';
  return JSON.stringify([
    p.name,
    p.exe ?? '',
    p.parents.slice(0, SHOWN_PARENTS).map((q) => q.name),
    p.container ? [p.container.engine, p.container.id, !!p.container.unverified] : [],
  ]);
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
      ? [
          {
            label: 'Container',
            value: `${p.container.engine} ${p.container.id}${p.container.unverified ? ' (unverified)' : ''}`,
          },
        ]
      : []),
  ];
}
