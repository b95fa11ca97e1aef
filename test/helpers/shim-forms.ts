// The shim's two transports, as a sandbox image would have them: a PATH holding only the
// tools a small image has, with or without bash, with or without curl. /bin/sh is dash here.
import {
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { SHIM } from './proxy.js';
import { needsSymlinks } from './platform.js';

export interface ShimForm {
  /** e.g. "bash, no curl". */
  name: string;
  /** A PATH for the sandbox: only this form's tools. */
  path: string;
  /** The shim as installed in this form (git's gpg.ssh.program). */
  program: string;
  /** Whether the shim should speak HTTP itself (bash /dev/tcp) rather than start curl. */
  fast: boolean;
  /** How many times curl was started in this form so far (a recording wrapper). */
  curlRuns(): number;
}

const BASE_TOOLS = ['git', 'ssh-keygen', 'sh', 'cat', 'mv', 'rm', 'mkdir', 'mktemp', 'sleep'];

function which(tool: string): string {
  return execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
}

/**
 * The `sh` of a form without bash: dash where there is one. Debian's and Ubuntu's /bin/sh is
 * dash already (the very file); macOS's /bin/sh (and Fedora's) starts bash, which would take
 * the fast path the form exists to avoid.
 */
function shWithoutBash(): string {
  try {
    return which('dash');
  } catch {
    return which('sh');
  }
}

/**
 * Four forms: bash and curl (the fast path), bash without curl (the fast path alone), sh
 * without bash (dash + curl: the fallback), and the shim installed with bash as its `#!`
 * (the README's tip: no sh start at all). curl is a wrapper that counts its runs.
 */
export function shimForms(dir: string): ShimForm[] {
  // None on Windows: the suites that use them skip there (needsPosixShell), and a `before`
  // that built them would fail the whole file first.
  if (needsSymlinks) return [];
  const realCurl = which('curl');
  const make = (name: string, bash: boolean, curl: boolean, bashShebang = false): ShimForm => {
    const bin = join(dir, 'bin-' + name.replace(/\W+/g, '-'));
    mkdirSync(bin, { recursive: true });
    for (const tool of [...BASE_TOOLS, ...(bash ? ['bash'] : [])]) {
      symlinkSync(tool === 'sh' && !bash ? shWithoutBash() : which(tool), join(bin, tool));
    }
    const log = join(bin, 'curl-runs');
    if (curl) {
      writeFileSync(
        join(bin, 'curl'),
        `#!/bin/sh\necho run >> '${log}'\nexec '${realCurl}' "$@"\n`,
        {
          mode: 0o755,
        },
      );
    }
    let program = SHIM;
    // The shim's `#!/bin/sh` is read by the kernel, not looked up on PATH: where /bin/sh is
    // not that sh (macOS: bash), the form without bash gets a copy whose `#!` names it.
    if (!bash && realpathSync('/bin/sh') !== realpathSync(shWithoutBash())) {
      program = join(bin, 'ssh-agent-proxy-sign');
      const text = readFileSync(SHIM, 'utf8').replace(/^#!.*\n/, `#!${shWithoutBash()}\n`);
      writeFileSync(program, text, { mode: 0o755 });
    }
    if (bashShebang) {
      program = join(bin, 'ssh-agent-proxy-sign');
      const text = readFileSync(SHIM, 'utf8').replace(/^#!.*\n/, `#!${which('bash')}\n`);
      writeFileSync(program, text, { mode: 0o755 });
    }
    return {
      name,
      path: bin,
      program,
      fast: bash,
      curlRuns: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').length - 1 : 0),
    };
  };
  return [
    make('bash and curl', true, true),
    make('bash, no curl', true, false),
    make('sh and curl, no bash', false, true),
    make('bash as the shebang', true, true, true),
  ];
}
