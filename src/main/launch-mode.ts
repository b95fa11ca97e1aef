// One binary, two faces: the packaged app's executable runs the same CLI as plain Node
// (`--console`, `token …`, `audit …`, `setup …`, `grants …`, `pause`, `resume`, `--help`,
// `--version`), and otherwise the tray. The subcommands are the CLI parser's own list, so a
// new one cannot start a second tray instead.
import { COMMANDS } from '../cli/args.js';

export function cliArgs(argv: readonly string[], defaultApp: boolean): string[] {
  // `electron .` passes [electron, ., …]; a packaged app passes [app, …].
  return argv.slice(defaultApp ? 2 : 1);
}

export function isCliInvocation(args: readonly string[]): boolean {
  const first = args[0];
  if (first !== undefined && (COMMANDS as readonly string[]).includes(first)) return true;
  return args.some((a) => a === '--console' || a === '--help' || a === '--version' || a === '-h');
}
