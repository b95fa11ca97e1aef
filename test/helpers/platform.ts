// Why a test cannot run on this OS, by name, so every skip says the same thing for the same
// cause. Each reason is `false` (run) or a sentence (node:test's `skip` shows it in the
// report): a skip is never silent. Built so that none can be a sentence on Linux, where CI
// runs the whole suite and must skip nothing.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import type { TestContext } from 'node:test';

const linux = process.platform === 'linux';
const windows = process.platform === 'win32';

/** The sentence on the OSes where `cannot` holds; never on Linux. */
function reason(cannot: boolean, why: string): string | false {
  return !linux && cannot ? why : false;
}

/** The shim, and the stand-ins tests write, are POSIX sh scripts; Windows cannot exec them. */
export const needsPosixShell = reason(
  windows,
  'needs a POSIX sh to run #! scripts (the shim and its stand-ins)',
);

/** A pty through util-linux script(1) (`script -qfec`; BSD script on macOS has other flags). */
export const needsUtilLinuxScript = reason(!linux, 'needs util-linux script(1) for a pty');

/** A pty through tmux (send-keys, capture-pane): installed on Linux CI, not on the others. */
export const needsTmux = reason(
  !linux,
  'needs tmux for a pty (installed on the Linux runner only)',
);

/** The SSH-login tests: a throwaway sshd started as root on a loopback port, socat for the bridge. */
export const needsSshdAsRoot = reason(
  !linux,
  'needs Linux CI (sshd started as root with its own config; socat for the bridge)',
);

/** Network namespaces (`unshare -n`, `ip`), systemd-analyze, /proc/PID/status. */
export const needsLinux = (what: string): string | false => reason(!linux, `needs Linux (${what})`);

/** SIGTERM/SIGINT with a handler: on Windows kill() ends the process and no handler runs. */
export const needsPosixSignals = reason(
  windows,
  'needs POSIX signals (on Windows kill() terminates at once, no handler runs)',
);

/** 0600 and friends: Windows files have ACLs, and Node reports made-up mode bits there. */
export const needsModeBits = reason(windows, 'needs POSIX file modes (Windows uses ACLs)');

/**
 * An agent of the test's own: a second one beside the first, or one it may stop or empty.
 * On Windows the only agent is the OpenSSH service on its named pipe, shared by the whole run.
 */
export const needsPrivateAgent = reason(
  windows,
  "needs a private ssh-agent (Windows has one, the shared OpenSSH service: it cannot start a second, stop it, or know it holds only this test's keys)",
);

/** Symlinks to build a sandbox PATH of chosen tools (Windows: needs a privilege). */
export const needsSymlinks = reason(windows, 'needs symlinks to build a sandbox PATH');

/**
 * What a Windows child with an otherwise minimal environment still needs: without SystemRoot
 * Winsock cannot load (no sockets at all), without TEMP/TMP temp files land in C:\Windows.
 * Empty elsewhere, so the environment tests hand a child on Linux stays exactly as written.
 */
export function windowsSystemEnv(): Record<string, string> {
  if (!windows) return {};
  const keep: Record<string, string> = {};
  for (const k of [
    'SystemRoot',
    'SystemDrive',
    'TEMP',
    'TMP',
    'USERPROFILE',
    'PATHEXT',
    'ComSpec',
  ]) {
    const v = process.env[k];
    if (v !== undefined) keep[k] = v;
  }
  return keep;
}

/**
 * `file` has exactly `mode` (e.g. 0o600). Where mode bits mean nothing (Windows) the check
 * is not made, and the test's report says so rather than passing in silence.
 */
export function assertFileMode(t: TestContext, file: string, mode: number): void {
  if (needsModeBits) return void t.diagnostic(`mode of ${file} not checked: ${needsModeBits}`);
  assert.equal(statSync(file).mode & 0o777, mode, file);
}
