// Start at login on Linux: an XDG autostart entry, which Electron does not write for you.
// From an AppImage, Exec must be the AppImage itself ($APPIMAGE), not the temporary mount
// it runs from. Plain Node (tested with a temp HOME).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DESKTOP_FILE = 'ssh-agent-proxy.desktop';

export interface AutostartEnv {
  env: Readonly<Record<string, string | undefined>>;
  home: string;
  /** process.execPath of the running app. */
  execPath: string;
}

export function autostartPath(a: AutostartEnv): string {
  return join(a.env.XDG_CONFIG_HOME || join(a.home, '.config'), 'autostart', DESKTOP_FILE);
}

/** Quote for a desktop entry Exec key (the spec's reserved characters). */
function quoteExec(arg: string): string {
  return /[\s"'\\$`]/.test(arg) ? `"${arg.replace(/(["`$\\])/g, '\\$1')}"` : arg;
}

export function desktopEntry(a: AutostartEnv): string {
  const exec = a.env.APPIMAGE || a.execPath;
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=SSH Agent Proxy',
    'Comment=Approve SSH signatures for containers and sandboxes',
    `Exec=${quoteExec(exec)} --hidden`,
    'Icon=ssh-agent-proxy',
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    'X-GNOME-Autostart-Delay=3',
    '',
  ].join('\n');
}

export function isAutostartEnabled(a: AutostartEnv): boolean {
  const p = autostartPath(a);
  if (!existsSync(p)) return false;
  const text = readFileSync(p, 'utf8');
  return !/^Hidden=true$/m.test(text) && !/^X-GNOME-Autostart-enabled=false$/m.test(text);
}

export function setAutostart(a: AutostartEnv, on: boolean): void {
  const p = autostartPath(a);
  if (!on) return rmSync(p, { force: true });
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, desktopEntry(a), { mode: 0o644 });
}
