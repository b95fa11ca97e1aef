// A sandbox's PATH as a small image has it: a directory of links holding only the tools
// named, so that nothing of the host's GNU userland is reached by accident. Two bases: an
// Alpine-style BusyBox (every applet `busybox --list` prints, `sh` among them) and Debian's
// dash with GNU coreutils.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

export const BUSYBOX = '/usr/bin/busybox';

export type SandboxBase = 'busybox' | 'dash+coreutils';

function which(tool: string): string {
  return execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
}

/** The applets of the host's busybox, as links named for each. */
function busyboxApplets(): Map<string, string> {
  const names = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n');
  return new Map(names.filter((n) => /^[\w.[-]+$/.test(n)).map((n) => [n, BUSYBOX]));
}

/** GNU coreutils' programs (from the package's own file list), and dash as sh. */
function dashCoreutils(): Map<string, string> {
  const files = execFileSync('dpkg', ['-L', 'coreutils'], { encoding: 'utf8' }).split('\n');
  const tools = new Map<string, string>();
  for (const f of files) {
    const m = /^\/(?:usr\/)?bin\/([^/]+)$/.exec(f);
    if (m && existsSync(f)) tools.set(m[1]!, f);
  }
  for (const t of ['sed', 'grep']) tools.set(t, which(t));
  tools.set('sh', which('dash'));
  return tools;
}

/**
 * A PATH directory under `dir` holding the base's tools plus `extra` (the host's own: socat,
 * ssh, git, …). Returns the directory; its `sh` is the base's shell.
 */
export function sandboxPath(dir: string, base: SandboxBase, extra: readonly string[]): string {
  const bin = join(dir, 'bin-' + base.replace(/\W+/g, '-') + '-' + extra.join('-'));
  mkdirSync(bin, { recursive: true });
  const tools = base === 'busybox' ? busyboxApplets() : dashCoreutils();
  for (const t of extra) tools.set(t, which(t));
  for (const [name, target] of tools) symlinkSync(target, join(bin, name));
  return bin;
}
