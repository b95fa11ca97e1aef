// Where Electron's binary is, for `npm start` and `npm run test:e2e`, without loading the
// `electron` package: since Electron 42 its index.js downloads the binary on first require,
// and a machine without network (this project's CI) must get a clear line instead.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** The binary's path if it is on disk, else null. Honours ELECTRON_OVERRIDE_DIST_PATH. */
export function electronBinary(env = process.env) {
  const pkgDir = dirname(require.resolve('electron/package.json'));
  const pathFile = join(pkgDir, 'path.txt');
  const rel = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
  const override = env.ELECTRON_OVERRIDE_DIST_PATH;
  const full = override
    ? join(override, rel || (process.platform === 'win32' ? 'electron.exe' : 'electron'))
    : rel && join(pkgDir, 'dist', rel);
  return full && existsSync(full) ? full : null;
}

/** The binary, downloading it once with Electron's own installer when allowed; else null. */
export function ensureElectronBinary(env = process.env) {
  const found = electronBinary(env);
  if (found || env.ELECTRON_OVERRIDE_DIST_PATH || env.ELECTRON_SKIP_BINARY_DOWNLOAD) return found;
  const pkgDir = dirname(require.resolve('electron/package.json'));
  // Its output (a stack trace when offline) is not for the person: they get one line.
  spawnSync(process.execPath, [join(pkgDir, 'install.js')], {
    stdio: 'ignore',
    env,
    timeout: 300_000,
  });
  return electronBinary(env);
}

export const NO_ELECTRON =
  "Electron's binary is not installed here and could not be downloaded: run `npm run console` for the proxy without the tray (approve on the terminal)";
