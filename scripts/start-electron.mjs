// `npm start`: the tray app from this checkout through Electron's binary, or one line saying
// what to do instead when the binary cannot be had (no network, unsupported OS).
import { spawn } from 'node:child_process';
import { ensureElectronBinary, NO_ELECTRON } from './electron-binary.mjs';

const binary = ensureElectronBinary();
if (!binary) {
  process.stderr.write(`ssh-agent-proxy: ${NO_ELECTRON}\n`);
  process.exit(1);
}
const child = spawn(binary, ['.', ...process.argv.slice(2)], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
