// `npm run test:e2e`: the end-to-end suite (test/e2e/) against the real app through
// Playwright's Electron driver. The app under test is E2E_APP (an installed or packaged
// executable: the release workflow sets it) or else this checkout run by Electron's binary.
// With neither it fails with one line saying so: it never passes without launching the app.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureElectronBinary } from './electron-binary.mjs';

const packaged = process.env.E2E_APP;
let env;
if (packaged) {
  if (!existsSync(packaged)) {
    process.stderr.write(`test:e2e: E2E_APP=${packaged} does not exist\n`);
    process.exit(1);
  }
  env = { ...process.env, E2E_EXECUTABLE: packaged, E2E_PACKAGED: '1' };
} else {
  const binary = ensureElectronBinary();
  if (!binary) {
    process.stderr.write(
      'test:e2e: no Electron binary here (not installed, cannot be downloaded) and no E2E_APP: the app cannot be launched, so the suite did not run\n',
    );
    process.exit(1);
  }
  env = { ...process.env, E2E_EXECUTABLE: binary, E2E_PACKAGED: '' };
}
const files = readdirSync(join('test', 'e2e'))
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => join('test', 'e2e', f));
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { stdio: 'inherit', env },
);
process.exit(r.status ?? 1);
