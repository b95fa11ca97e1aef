// Bundles every entry point with esbuild: the CLI (plain Node 20), the Electron main
// process, the sandboxed preload (one file: it may only require electron's renderer
// modules), and the renderer (browser code, no Node).
import { build } from 'esbuild';
import { chmodSync, cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';

const watch = process.argv.includes('--watch');
rmSync('dist', { recursive: true, force: true });

const common = { bundle: true, sourcemap: 'linked', logLevel: 'warning', legalComments: 'none' };
const entries = [
  {
    entryPoints: ['src/cli/bin.ts'],
    outfile: 'dist/cli/cli.js',
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    banner: { js: '#!/usr/bin/env node' },
    external: ['electron'],
  },
];
if (existsSync('src/main/main.ts')) {
  entries.push({
    entryPoints: ['src/main/main.ts'],
    outfile: 'dist/main/main.js',
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    external: ['electron'],
  });
}
if (existsSync('src/preload/preload.ts')) {
  entries.push({
    entryPoints: ['src/preload/preload.ts'],
    outfile: 'dist/preload/preload.js',
    platform: 'node',
    target: 'chrome130',
    format: 'cjs',
    external: ['electron'],
  });
}
if (existsSync('src/renderer')) {
  for (const name of ['approval', 'activity']) {
    if (!existsSync(`src/renderer/${name}.ts`)) continue;
    entries.push({
      entryPoints: [`src/renderer/${name}.ts`],
      outfile: `dist/renderer/${name}.js`,
      platform: 'browser',
      target: 'chrome130',
      format: 'iife',
    });
  }
}
await Promise.all(entries.map((e) => build({ ...common, ...e })));
if (existsSync('src/renderer')) {
  mkdirSync('dist/renderer', { recursive: true });
  cpSync('src/renderer', 'dist/renderer', {
    recursive: true,
    filter: (p) => !p.endsWith('.ts') && !p.endsWith('tsconfig.json'),
  });
}
chmodSync('dist/cli/cli.js', 0o755);
if (watch) console.log('watch mode is not implemented; rerun npm run build');
