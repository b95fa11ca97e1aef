// One binary, two faces: the packaged app's executable runs the same CLI as plain Node
// (`--console`, `token …`, `audit …`, `setup …`, `--help`, `--version`), and otherwise the tray.
export function cliArgs(argv: readonly string[], defaultApp: boolean): string[] {
  // `electron .` passes [electron, ., …]; a packaged app passes [app, …].
  return argv.slice(defaultApp ? 2 : 1);
}

export function isCliInvocation(args: readonly string[]): boolean {
  const first = args[0];
  if (first === 'token' || first === 'audit' || first === 'setup') return true;
  return args.some((a) => a === '--console' || a === '--help' || a === '--version' || a === '-h');
}
