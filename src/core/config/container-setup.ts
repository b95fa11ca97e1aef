// The exact lines to paste into a sandbox for one client token and one container runtime.
export const RUNTIMES = ['docker-desktop', 'docker-linux', 'podman', 'wsl2'] as const;
export type Runtime = (typeof RUNTIMES)[number];

export interface SetupInput {
  runtime: Runtime;
  port: number;
  /** The address the proxy listens on. */
  bindHost: string;
  tokenName: string | null;
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

export function containerSetup(input: SetupInput): string {
  const base = `http://${HOSTS[input.runtime]}:${input.port}`;
  return [
    ...networking(input),
    '',
    '# 1. The signing shim (needs sh and curl):',
    `curl -fsS ${base}/shim -o /usr/local/bin/ssh-agent-proxy-sign`,
    'chmod +x /usr/local/bin/ssh-agent-proxy-sign',
    '',
    '# 2. Where the proxy is, and who this sandbox is:',
    `export SSH_AGENT_PROXY_URL=${base}/sign`,
    input.tokenName
      ? `export SSH_AGENT_PROXY_TOKEN=…   # the token "${input.tokenName}" (shown once when it was created)`
      : '# (no client token: anonymous local clients are allowed while no token exists)',
    '',
    '# 3. git signs through the shim:',
    'git config --global gpg.format ssh',
    'git config --global gpg.ssh.program /usr/local/bin/ssh-agent-proxy-sign',
    'git config --global user.signingkey ~/.cache/ssh-agent-proxy-sign/signing.pub',
    'git config --global commit.gpgsign true',
    'git config --global tag.gpgsign true',
    '',
  ].join('\n');
}
