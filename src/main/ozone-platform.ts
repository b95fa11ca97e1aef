// Linux: which display protocol Electron should use. Electron ≥ 38 runs natively on Wayland
// when the session is Wayland, and there a window cannot keep itself on top or place itself:
// the approval window would open behind the editor. Under XWayland (a Wayland session that
// also offers an X display) we ask for X11, where always-on-top and placement work. Without
// XWayland we stay on Wayland rather than fail to start. An explicit --ozone-platform on the
// command line always wins. Decided on every start, so the autostart entry, the deb's menu
// entry and the AppImage all get the same choice without writing a flag into any of them.
export function ozonePlatformSwitch(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  platform: NodeJS.Platform,
): 'x11' | null {
  if (platform !== 'linux') return null;
  if (argv.some((a) => a === '--ozone-platform' || a.startsWith('--ozone-platform='))) return null;
  const wayland = Boolean(env.WAYLAND_DISPLAY) || env.XDG_SESSION_TYPE === 'wayland';
  return wayland && env.DISPLAY ? 'x11' : null;
}
