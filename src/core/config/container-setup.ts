// The exact lines to paste into a sandbox for one client token and one container runtime.
// Pasted as they are into a shell in the sandbox, they end with git signing through the
// shim and `git log --show-signature` saying Good signature (test/integration/shim-setup).
export const RUNTIMES = ['docker-desktop', 'docker-linux', 'podman', 'wsl2'] as const;
export type Runtime = (typeof RUNTIMES)[number];

export interface SetupInput {
  runtime: Runtime;
  port: number;
  /** The address the proxy listens on. */
  bindHost: string;
  tokenName: string | null;
  /** The token itself, where the caller has it (just created); never a placeholder. */
  token?: string;
}

const HOSTS: Record<Runtime, string> = {
  'docker-desktop': 'host.docker.internal',
  'docker-linux': 'host.docker.internal',
  podman: 'host.containers.internal',
  wsl2: '127.0.0.1',
};

function networking(input: SetupInput): string[] {
  const loopback =
    input.bindHost === '127.0.0.1' || input.bindHost === 'localhost' || input.bindHost === '::1';
  switch (input.runtime) {
    case 'docker-desktop':
      return ['# Docker Desktop: host.docker.internal reaches the host, loopback included.'];
    case 'docker-linux':
      return [
        '# Docker on Linux: start the container with',
        '#   docker run --add-host=host.docker.internal:host-gateway …',
        ...(loopback
          ? [
              '# and make the proxy listen on the bridge address (it listens on loopback now), e.g.',
              '#   SSH_AGENT_PROXY_ADDR=172.17.0.1:' + input.port + '  (needs a client token)',
            ]
          : []),
      ];
    case 'podman':
      return [
        '# Podman: host.containers.internal reaches the host (rootless: run with',
        '#   --network slirp4netns:allow_host_loopback=true  to reach its loopback).',
      ];
    case 'wsl2':
      return [
        '# WSL2: with mirrored networking (networkingMode=mirrored in .wslconfig) 127.0.0.1 is the',
        "# Windows host; in NAT mode use the host's address from `ip route show default`.",
      ];
  }
}

function tokenLines(input: SetupInput): string[] {
  if (input.token) return [`export SSH_AGENT_PROXY_TOKEN=${input.token}`];
  if (input.tokenName) {
    // Nothing here may break when pasted: the token is only shown when it is created.
    return [
      `# This sandbox's client token, shown once when it was created: pass it in`,
      '# (docker run -e SSH_AGENT_PROXY_TOKEN=…) or set it here:',
      `#   export SSH_AGENT_PROXY_TOKEN=<the token "${input.tokenName}">`,
    ];
  }
  return ['# (no client token: anonymous local clients are allowed while no token exists)'];
}

export function containerSetup(input: SetupInput): string {
  const base = `http://${HOSTS[input.runtime]}:${input.port}`;
  return [
    ...networking(input),
    '',
    '# 1. The signing shim (POSIX sh and curl; where bash is present it signs without curl):',
    `curl -fsS ${base}/shim -o /usr/local/bin/ssh-agent-proxy-sign`,
    'chmod +x /usr/local/bin/ssh-agent-proxy-sign',
    '# (with bash in the image, start it straight in bash: one shell start less a signature)',
    // An `if`, not `[ … ] &&`: a pasted line must exit 0 where there is no bash too (set -e,
    // a Dockerfile RUN). The path comes from PATH (bash is /usr/bin/bash on some images),
    // and the line has no `!` in double quotes (interactive bash would expand it).
    'if bash_path=$(command -v bash); then sed -i "1s|/bin/sh\\$|$bash_path|" /usr/local/bin/ssh-agent-proxy-sign; fi',
    '',
    '# 2. Where the proxy is, and who this sandbox is:',
    `export SSH_AGENT_PROXY_URL=${base}/sign`,
    ...tokenLines(input),
    '',
    '# 3. git signs through the shim (user.email must be set: git config --global user.email …):',
    'git config --global gpg.format ssh',
    'git config --global gpg.ssh.program /usr/local/bin/ssh-agent-proxy-sign',
    'git config --global user.signingkey ~/.cache/ssh-agent-proxy-sign/signing.pub',
    'git config --global commit.gpgsign true',
    'git config --global tag.gpgsign true',
    '',
    "# 4. git log --show-signature and git verify-commit trust the proxy's key for your address",
    '#    (verifying needs ssh-keygen in the sandbox):',
    'ssh-agent-proxy-sign allowed-signers "$(git config user.email)"',
    'git config --global gpg.ssh.allowedSignersFile ~/.cache/ssh-agent-proxy-sign/allowed_signers',
    '',
    ...agentBridgeLines(),
  ].join('\n');
}

/**
 * SSH logins (git over ssh://, ssh) through the proxy's agent endpoint. The bridge runs in
 * the foreground for as long as the sandbox needs it, so it is shown, not started: a pasted
 * block must end, and must not leave a process behind.
 */
function agentBridgeLines(): string[] {
  const sock = '"$HOME/.cache/ssh-agent-proxy-sign/agent.sock"';
  return [
    '# 5. SSH logins (git clone/push over ssh://, ssh) through the proxy, approved on the host',
    '#    like signatures (needs socat in the sandbox). Keep the bridge running, e.g. in its',
    "#    own terminal or as the container's background process:",
    `#      ssh-agent-proxy-sign agent ${sock}`,
    `export SSH_AUTH_SOCK=${sock}`,
    '',
  ];
}
