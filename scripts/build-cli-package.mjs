// The headless CLI as an npm package of its own, in dist/cli-package/: one self-contained
// JavaScript file (esbuild bundles every dependency; no electron, nothing to install at run
// time), the container shim that GET /shim serves, and the service files for headless hosts.
// `npm pack dist/cli-package` gives a tarball whose `ssh-agent-proxy` bin runs on plain Node.
// Run by scripts/build.mjs; also on its own: node scripts/build-cli-package.mjs
import { build } from 'esbuild';
import { builtinModules } from 'node:module';
import { chmodSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const CLI_PACKAGE_DIR = join('dist', 'cli-package');
// The Node the bundle targets and the package's engines say: Node 20 LTS, as the CLI's
// own code needs (the Electron app and electron-builder need more; see package.json engines).
const NODE_RANGE = '>=20.10';

export async function buildCliPackage(out = CLI_PACKAGE_DIR) {
  const root = JSON.parse(readFileSync('package.json', 'utf8'));
  rmSync(out, { recursive: true, force: true });
  // dist/cli/cli.js + scripts/ssh-agent-proxy-sign: the same layout as a checkout, so the
  // CLI finds the shim next to itself (src/cli/find-shim.ts) without knowing it is packaged.
  const result = await build({
    entryPoints: ['src/cli/bin.ts'],
    outfile: join(out, 'dist', 'cli', 'cli.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  });
  // Anything left unbundled must be part of Node itself: the package has no dependencies.
  const imports = Object.values(result.metafile.outputs).flatMap((o) => o.imports);
  const foreign = imports.filter(
    (i) => i.external && !i.path.startsWith('node:') && !builtinModules.includes(i.path),
  );
  if (foreign.length) {
    throw new Error(`the CLI bundle needs ${foreign.map((i) => i.path).join(', ')} at run time`);
  }
  chmodSync(join(out, 'dist', 'cli', 'cli.js'), 0o755);
  mkdirSync(join(out, 'scripts'), { recursive: true });
  cpSync(join('scripts', 'ssh-agent-proxy-sign'), join(out, 'scripts', 'ssh-agent-proxy-sign'));
  chmodSync(join(out, 'scripts', 'ssh-agent-proxy-sign'), 0o755);
  cpSync('contrib', join(out, 'contrib'), { recursive: true });
  const pkg = {
    name: 'ssh-agent-proxy',
    version: root.version,
    description:
      'Headless SSH Agent Proxy (--console): sandboxes sign git commits over HTTP with keys that stay in the host’s SSH agent.',
    license: root.license,
    homepage: root.homepage,
    bin: {
      'ssh-agent-proxy': 'dist/cli/cli.js',
      'ssh-agent-proxy-sign': 'scripts/ssh-agent-proxy-sign',
    },
    files: ['dist', 'scripts', 'contrib', 'README.md'],
    engines: { node: NODE_RANGE },
    os: ['linux', 'darwin', 'win32'],
  };
  writeFileSync(join(out, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  writeFileSync(
    join(out, 'README.md'),
    [
      '# ssh-agent-proxy (headless CLI)',
      '',
      `The proxy without the tray app: plain Node ${NODE_RANGE}, no Electron, no display.`,
      '',
      '    npm install -g ssh-agent-proxy-VERSION.tgz',
      '    ssh-agent-proxy --console',
      '',
      'Service files for hosts nobody sits at are in contrib/ (systemd user unit, launchd agent).',
      `Documentation: ${root.homepage}`,
      '',
    ].join('\n'),
  );
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await buildCliPackage();
