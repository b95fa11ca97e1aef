// Bundles every entry point with esbuild: the CLI (plain Node 20), the Electron main
// process, the sandboxed preload (one file: it may only require electron's renderer
// modules), and the two renderer pages (browser code, no Node), plus their HTML and CSS;
// then the CLI's own npm package (dist/cli-package, see build-cli-package.mjs).
import { build } from 'esbuild';
import { chmodSync, cpSync, rmSync } from 'node:fs';
import { buildCliPackage } from './build-cli-package.mjs';

rmSync('dist', { recursive: true, force: true });

const common = { bundle: true, sourcemap: 'linked', logLevel: 'warning', legalComments: 'none' };
const node = { platform: 'node', format: 'cjs', external: ['electron'] };
const entries = [
  {
    ...node,
    entryPoints: ['src/cli/bin.ts'],
    outfile: 'dist/cli/cli.js',
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
  },
  { ...node, entryPoints: ['src/main/main.ts'], outfile: 'dist/main/main.js', target: 'node22' },
  {
    ...node,
    entryPoints: ['src/preload/preload.ts'],
    outfile: 'dist/preload/preload.js',
    target: 'chrome130',
  },
  ...['approval', 'activity'].map((name) => ({
    entryPoints: [`src/renderer/${name}.ts`],
    outfile: `dist/renderer/${name}.js`,
    platform: 'browser',
    target: 'chrome130',
    format: 'iife',
  })),
];
await Promise.all(entries.map((e) => build({ ...common, ...e })));
cpSync('src/renderer', 'dist/renderer', {
  recursive: true,
  filter: (p) => !p.endsWith('.ts') && !p.endsWith('tsconfig.json'),
});
chmodSync('dist/cli/cli.js', 0o755);
await buildCliPackage();
