// The container a Linux process runs in, read from /proc/PID/cgroup. The engines name their
// cgroups after the container's 64-hex id: Docker `/docker/ID` (cgroup v1) or
// `docker-ID.scope` (systemd driver), Podman `libpod-ID.scope` (or `/libpod_parent/libpod-ID`),
// containerd `cri-containerd-ID.scope`, CRI-O `crio-ID.scope`, Kubernetes
// `/kubepods/…/ID`. A process outside any container has none of these. A name is not proof:
// a user can make cgroups of any name under the systemd manager delegated to them, so only a
// root-owned container cgroup counts as verified (verifiedContainer).
import { statSync } from 'node:fs';
import type { ContainerRef } from './peer-process.js';

const PATTERNS: readonly [RegExp, string][] = [
  [/(?:^|\/)docker[-/]([0-9a-f]{64})(?:\.scope)?(?:\/|$)/, 'docker'],
  [/(?:^|\/)libpod-(?:conmon-)?([0-9a-f]{64})(?:\.scope)?(?:\/|$)/, 'podman'],
  [/(?:^|\/)cri-containerd-([0-9a-f]{64})(?:\.scope)?(?:\/|$)/, 'containerd'],
  [/(?:^|\/)crio-(?:conmon-)?([0-9a-f]{64})(?:\.scope)?(?:\/|$)/, 'cri-o'],
  [/\/kubepods[^\n]*\/([0-9a-f]{64})(?:\/|$)/, 'kubernetes'],
];

/** A container's cgroup as the process's cgroup file names it. */
export interface ContainerCgroup {
  container: ContainerRef;
  /** The container's cgroup directory (through the part that names it), under /sys/fs/cgroup. */
  dir: string;
}

/** Under a user's own systemd manager, where the user creates cgroups of any name. */
const USER_DELEGATED = /(?:^|\/)user@\d+\.service(?:\/|$)/;

/**
 * The container named by a cgroup file's text, with its cgroup directory, or undefined. A
 * path under `user@UID.service` is marked unverified here already: the user makes those.
 */
export function containerCgroupFrom(text: string): ContainerCgroup | undefined {
  for (const line of text.split('\n')) {
    // `hierarchy-ID:controllers:path`; the path may itself contain colons.
    const [, controllers = '', ...rest] = line.split(':');
    const path = rest.join(':');
    if (!path) continue;
    for (const [re, engine] of PATTERNS) {
      const m = re.exec(path);
      if (!m) continue;
      const named = path.slice(0, m.index + m[0].length).replace(/\/$/, '');
      // v2 is mounted at /sys/fs/cgroup; a v1 hierarchy under its controllers' (or name=) dir.
      const mount = controllers === '' ? '' : `/${controllers.replace(/^name=/, '')}`;
      const container: ContainerRef = USER_DELEGATED.test(path)
        ? { engine, id: m[1]!, unverified: true }
        : { engine, id: m[1]! };
      return { container, dir: `/sys/fs/cgroup${mount}${named}` };
    }
  }
  return undefined;
}

/** The container named by a cgroup file's text, or undefined. */
export function containerFromCgroup(text: string): ContainerRef | undefined {
  return containerCgroupFrom(text)?.container;
}

/**
 * The container, unverified unless its cgroup directory is owned by root: only root (the
 * engine's daemon, the system's systemd) makes those; a user's own are the user's.
 */
export function verifiedContainer(
  c: ContainerCgroup,
  ownerOf: (dir: string) => number | undefined = (dir) => {
    try {
      return statSync(dir).uid;
    } catch {
      return undefined;
    }
  },
): ContainerRef {
  if (c.container.unverified || ownerOf(c.dir) === 0) return c.container;
  return { ...c.container, unverified: true };
}
