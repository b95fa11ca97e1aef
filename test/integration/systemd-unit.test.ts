// The systemd user unit as shipped, against what systemd really does with it: its env file
// is read literally (no %h, no $HOME), ProtectHome=read-only leaves agent sockets under
// $HOME and $XDG_RUNTIME_DIR reachable, and PrivateTmp=true hides an agent in /tmp. The
// two mount options are reproduced in a private mount namespace around a real ssh-add.
// (systemd-analyze verify of the unit: test/unit/packaging.test.ts.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { agentWithKey, type AgentWithKey } from '../helpers/fixtures.js';
import { run } from '../helpers/openssh.js';
import { ROOT } from '../helpers/proxy.js';
import { needsLinux } from '../helpers/platform.js';

const UNIT = join(ROOT, 'contrib', 'systemd', 'ssh-agent-proxy.service');
const ENV_EXAMPLE = join(ROOT, 'contrib', 'systemd', 'env.example');

let a: AgentWithKey;

before(async () => {
  if (needsLinux('')) return;
  a = await agentWithKey();
});

/** `ssh-add -l` against the agent, in a mount namespace set up by `mounts` (sh, as root). */
function sshAddUnder(mounts: string) {
  return run(
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', `${mounts} && exec ssh-add -l`],
    {
      env: { PATH: process.env.PATH, SSH_AUTH_SOCK: a.agent.sock },
    },
  );
}

describe(
  'the systemd user unit and its env file',
  { skip: needsLinux('unshare -m, as root') },
  () => {
    it('every setting in env.example is a literal value: systemd expands nothing there', () => {
      const settings = readFileSync(ENV_EXAMPLE, 'utf8')
        .split('\n')
        .map((l) => /^#?([A-Z][A-Z0-9_]*)=(.*)$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null);
      assert.ok(settings.some((m) => m[1] === 'SSH_AGENT_PROXY_UPSTREAM'));
      for (const [line, , value] of settings) {
        assert.doesNotMatch(value!, /[%$~`]/, `${line}: systemd would not expand this`);
      }
      // One line for each common agent, each a full path.
      const upstreams = settings
        .filter((m) => m[1] === 'SSH_AGENT_PROXY_UPSTREAM')
        .map((m) => m[2]!);
      for (const where of [
        /gnupg\/S\.gpg-agent\.ssh$/,
        /\.1password\/agent\.sock$/,
        /^\/tmp\/ssh-/,
        /^\/run\/user\//,
      ]) {
        assert.ok(
          upstreams.some((u) => where.test(u) && u.startsWith('/')),
          `an example for ${where}`,
        );
      }
    });

    it('ProtectHome=read-only keeps an agent socket reachable; PrivateTmp=true hides one in /tmp', async () => {
      const unit = readFileSync(UNIT, 'utf8');
      assert.match(unit, /^ProtectHome=read-only$/m);
      assert.match(unit, /^PrivateTmp=true$/m);
      const sockDir = dirname(a.agent.sock);
      const direct = await sshAddUnder('true');
      assert.equal(direct.code, 0, direct.stderr);
      // ProtectHome=read-only: the socket's directory mounted read-only.
      const readOnly = await sshAddUnder(
        `mount --bind '${sockDir}' '${sockDir}' && mount -o remount,bind,ro '${sockDir}'`,
      );
      assert.equal(readOnly.code, 0, readOnly.stderr);
      assert.equal(readOnly.stdout, direct.stdout);
      // PrivateTmp=true: an empty /tmp of the service's own (the agent here lives in /tmp).
      assert.ok(a.agent.sock.startsWith('/tmp/'));
      const privateTmp = await sshAddUnder('mount -t tmpfs tmpfs /tmp');
      assert.notEqual(privateTmp.code, 0);
      assert.match(
        privateTmp.stderr,
        /Could not open a connection to your authentication agent|Error connecting to agent/,
      );
      // What env.example tells a /tmp agent's user to change, for the reason seen above.
      assert.match(readFileSync(ENV_EXAMPLE, 'utf8'), /^#\s+PrivateTmp=false$/m);
    });

    it('the unit raises the open-files limit for the connection caps, and needs a token first', () => {
      const unit = readFileSync(UNIT, 'utf8');
      assert.match(unit, /^LimitNOFILE=65536$/m);
      // approval allow refuses to start without a token: the install steps create one first.
      const steps = unit.split('\n').filter((l) => l.startsWith('#   '));
      const token = steps.findIndex((l) => /ssh-agent-proxy token create /.test(l));
      const enable = steps.findIndex((l) =>
        /systemctl --user enable --now ssh-agent-proxy/.test(l),
      );
      assert.ok(token >= 0 && token < enable, 'a token is created before the unit is enabled');
    });
  },
);
