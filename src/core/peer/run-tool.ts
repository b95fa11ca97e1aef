// Run one of the OS's own inspection tools (lsof, ps, ss, netstat, PowerShell) directly —
// no shell between, fixed arguments, C locale — and give back its output, or undefined when
// it is missing, fails or the lookup's budget ends (the signal kills it).
import { execFile } from 'node:child_process';

export function runTool(
  file: string,
  args: readonly string[],
  signal: AbortSignal,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(undefined);
    execFile(
      file,
      args,
      {
        signal,
        maxBuffer: 32 << 20,
        windowsHide: true,
        env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
      },
      (err, stdout) => resolve(err ? undefined : stdout),
    );
  });
}
