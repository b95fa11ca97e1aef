// The container steps (the README's and `setup`'s lines) pasted into two sandboxes under
// `set -e`, every line required to exit 0, then a signed commit that verifies: one with bash
// (the shim is switched to start in it), one like Alpine — /bin/sh is BusyBox, no bash
// anywhere, a PATH of BusyBox applets plus curl, git and ssh-keygen. The Alpine one runs in
// a private mount namespace where BusyBox is bound over /bin/sh and bash over an empty
// file, so git starts the shim (`#!/bin/sh`) in BusyBox's sh as it would there.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { containerSetup } from '../../src/core/config/container-setup.js';
import { everyLineMustSucceed, readmeContainerSteps } from '../helpers/container-steps.js';
import { agentWithKey, createToken, type AgentWithKey } from '../helpers/fixtures.js';
import { run } from '../helpers/openssh.js';
import { spawnConsole, type ConsoleProxy } from '../helpers/proxy.js';
import { needsLinux } from '../helpers/platform.js';
import { BUSYBOX, sandboxPath } from '../helpers/sandbox-path.js';

let a: AgentWithKey;
let proxy: ConsoleProxy;
let token: string;

before(async () => {
  if (needsLinux('')) return;
  a = await agentWithKey();
  const cfg = join(a.dir, 'cfg');
  token = await createToken(cfg, 'box1');
  proxy = await spawnConsole({ SSH_AUTH_SOCK: a.agent.sock, SSH_AGENT_PROXY_CONFIG_DIR: cfg });
});

type Sandbox = 'bash' | 'busybox';

const IDENTITY =
  'git config --global user.name "Ana Example"\ngit config --global user.email ana@example.com\n';

/** The sandbox's shell runs `script` (install dir and proxy host swapped) in a fresh HOME. */
async function paste(sandbox: Sandbox, name: string, lines: string) {
  const home = join(a.dir, `${sandbox}-${name}`);
  const bin = join(home, 'bin');
  mkdirSync(bin, { recursive: true });
  const swapped = lines
    .replaceAll('/usr/local/bin/', `${bin}/`)
    .replace(/host\.(docker|containers)\.internal:\d+/g, new URL(proxy.url).host);
  const script = [
    everyLineMustSucceed(swapped),
    'cd "$HOME" && git init -q repo && cd repo',
    'git commit -q --allow-empty -m "first signed commit"',
    'git log --show-signature -1',
    // The shim's other forms: an explicit key fetch, and data on stdin signed to stdout.
    'ssh-agent-proxy-sign pubkey "$HOME/proxy.pub" >/dev/null',
    'echo data | ssh-agent-proxy-sign -Y sign -n git -f "$HOME/proxy.pub" >"$HOME/data.sig"',
    'echo data | ssh-keygen -Y check-novalidate -n git -s "$HOME/data.sig"',
    `head -n 1 ${bin}/ssh-agent-proxy-sign`,
  ].join('\n');
  const env = {
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    SSH_AGENT_PROXY_TOKEN: token,
  };
  if (sandbox === 'bash') {
    return run('bash', ['-e', '-c', script], {
      env: { ...env, PATH: `${bin}:${process.env.PATH}` },
      cwd: home,
    });
  }
  const path = `${bin}:${sandboxPath(home, 'busybox', ['curl', 'git', 'ssh-keygen'])}`;
  const noBash = join(home, 'no-bash');
  writeFileSync(noBash, '', { mode: 0o644 });
  const enter =
    'mount --bind "$1" "$(readlink -f /bin/sh)" && mount --bind "$2" "$(readlink -f "$(command -v bash)")" && shift 2 && exec "$@"';
  return run(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      enter,
      'enter',
      BUSYBOX,
      noBash,
      'env',
      '-i',
      ...Object.entries({ ...env, PATH: path }).map(([k, v]) => `${k}=${v}`),
      '/bin/sh',
      '-e',
      '-c',
      // This is BusyBox's sh, and there is no bash to hand over to.
      `/bin/sh --help 2>&1 | grep -q BusyBox\n! [ -x /bin/bash ] && ! command -v bash\n${script}`,
    ],
    { cwd: home },
  );
}

describe(
  'the container steps under set -e, in a bash and a BusyBox sandbox',
  { skip: needsLinux('a private mount namespace (unshare -m, as root) and busybox') },
  () => {
    const sources: [string, () => string][] = [
      ['the README', () => IDENTITY + readmeContainerSteps()],
      [
        'setup --runtime docker-desktop --token',
        () =>
          IDENTITY +
          containerSetup({
            runtime: 'docker-desktop',
            port: Number(new URL(proxy.url).port),
            bindHost: '127.0.0.1',
            tokenName: 'box1',
            token,
          }),
      ],
    ];
    for (const sandbox of ['bash', 'busybox'] as const) {
      for (const [source, lines] of sources) {
        it(`${sandbox}: ${source}: every line exits 0, and the commit is signed`, async () => {
          const r = await paste(sandbox, source.replace(/\W+/g, '-'), lines());
          assert.equal(r.code, 0, r.stderr);
          assert.match(
            r.stdout,
            /Good "git" signature for ana@example\.com with ED25519 key SHA256:/,
          );
          const shebang = r.stdout.trim().split('\n').at(-1);
          const bash = (await run('sh', ['-c', 'command -v bash'])).stdout.trim();
          assert.equal(shebang, sandbox === 'bash' ? `#!${bash}` : '#!/bin/sh');
        });
      }
    }
  },
);
