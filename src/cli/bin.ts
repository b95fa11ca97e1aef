// The `ssh-agent-proxy` executable in plain Node (the Electron entry calls runCli itself).
import { runCli } from './cli.js';

runCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    // One line, no stack trace; SSH_AGENT_PROXY_LOG_LEVEL=debug shows the stack.
    const detail =
      process.env.SSH_AGENT_PROXY_LOG_LEVEL === 'debug'
        ? ((e as Error).stack ?? String(e))
        : String((e as Error).message ?? e);
    process.stderr.write(`ssh-agent-proxy: unexpected error: ${detail}\n`);
    process.exit(1);
  },
);
