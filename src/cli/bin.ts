// The `ssh-agent-proxy` executable in plain Node (the Electron entry calls runCli itself).
import { runCli } from './cli.js';

runCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`ssh-agent-proxy: unexpected error: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
