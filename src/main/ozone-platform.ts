// Linux: which display protocol the app runs on. Electron ≥ 38 runs natively on Wayland in a
// Wayland session, and there a window cannot keep itself on top or place itself: the approval
// window could open behind the editor. Under XWayland (a Wayland session that also offers an
// X display) we want X11, where always-on-top and placement work. Without XWayland we stay on
// Wayland rather than fail to start. An explicit --ozone-platform always wins.
//
// The choice cannot be made from main.js with app.commandLine.appendSwitch: Electron picks
// the Ozone platform in PreEarlyInitialization (DetectOzonePlatform, then
// ui::OzonePlatform::PreEarlyInitialization creates it), before the app's JavaScript runs.
// So the app relaunches itself once with --ozone-platform=x11. It does so on every start,
// whatever started it — the autostart entry, the deb's menu entry, the AppImage — so none of
// them needs the flag written in, and none breaks in a session without XWayland.

export interface Relaunch {
  args: string[];
  /** The AppImage itself: the running binary's folder is a mount that goes away with us. */
  execPath?: string;
}

export function x11Relaunch(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  platform: NodeJS.Platform,
): Relaunch | null {
  if (platform !== 'linux') return null;
  if (argv.some((a) => a === '--ozone-platform' || a.startsWith('--ozone-platform='))) return null;
  const wayland = Boolean(env.WAYLAND_DISPLAY) || env.XDG_SESSION_TYPE === 'wayland';
  if (!wayland || !env.DISPLAY) return null;
  return {
    args: [...argv.slice(1), '--ozone-platform=x11'],
    ...(env.APPIMAGE ? { execPath: env.APPIMAGE } : {}),
  };
}
