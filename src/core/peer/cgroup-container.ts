// The container a Linux process runs in, read from /proc/PID/cgroup. The engines name their
// cgroups after the container's 64-hex id: Docker `/docker/ID` (cgroup v1) or
// `docker-ID.scope` (systemd driver), Podman `libpod-ID.scope` (or `/libpod_parent/libpod-ID`),
// containerd `cri-containerd-ID.scope`, CRI-O `crio-ID.scope`, Kubernetes
// `/kubepods/…/ID`. A process outside any container has none of these.
import type { ContainerRef } from './peer-process.js';

const PATTERNS: readonly [RegExp, string][] = [
  [/(?:^|\/)docker[-/]([0-9a-f]{64})(?:\.scope)?(?:\/|$)/, 'docker'],
  [/(?:^|\/)libpod-(?:conmon-)?([0-9a-f]{64})(?:\.scope)?(?:\/|$)/, 'podman'],
  [/(?:^|\/)cri-containerd-([0-9a-f]{64})(?:\.scope)?(?:\/|$)/, 'containerd'],
  [/(?:^|\/)crio-(?:conmon-)?([0-9a-f]{64})(?:\.scope)?(?:\/|$)/, 'cri-o'],
  [/\/kubepods[^\n]*\/([0-9a-f]{64})(?:\/|$)/, 'kubernetes'],
];

/** The container named by a cgroup file's text, or undefined. */
export function containerFromCgroup(text: string): ContainerRef | undefined {
  for (const line of text.split('\n')) {
    // `hierarchy-ID:controllers:path`; the path may itself contain colons.
    const path = line.split(':').slice(2).join(':');
    if (!path) continue;
    for (const [re, engine] of PATTERNS) {
      const m = re.exec(path);
      if (m) return { engine, id: m[1]! };
    }
  }
  return undefined;
}
