// A desktop notification from the console, where one can be shown: notify-send (libnotify)
// on Linux with a display, osascript on macOS; nowhere else (a Windows console has no
// command-line notifier worth spawning). Best effort: started and forgotten, never awaited,
// never failing the request it announces. Text goes as separate arguments, never through
// a shell or into a script; it carries what the prompt shows, never a key or a token.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export type Notify = (title: string, body: string) => void;

const MAX_TEXT = 200;

function onPath(cmd: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, cmd);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

const clip = (s: string) => (s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT - 1)}…` : s);

/** The command line that shows one notification here, or null where none can be shown. */
export function notifyCommand(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform,
): ((title: string, body: string) => [string, string[]]) | null {
  if (platform === 'linux') {
    if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return null;
    const bin = onPath('notify-send', env);
    if (!bin) return null;
    return (title, body) => [bin, ['--app-name=SSH Agent Proxy', '--', clip(title), clip(body)]];
  }
  if (platform === 'darwin') {
    const bin = onPath('osascript', env) ?? '/usr/bin/osascript';
    // The text arrives as argv of the script, so no quoting of it is ever needed.
    return (title, body) => [
      bin,
      [
        '-e',
        'on run argv',
        '-e',
        'display notification (item 2 of argv) with title (item 1 of argv)',
        '-e',
        'end run',
        clip(title),
        clip(body),
      ],
    ];
  }
  return null;
}

export function desktopNotifier(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): Notify | null {
  const command = notifyCommand(env, platform);
  if (!command) return null;
  return (title, body) => {
    const [bin, args] = command(title, body);
    try {
      const child = spawn(bin, args, { stdio: 'ignore', env });
      child.on('error', () => {}); // gone since we looked: nothing to show it with
      child.unref();
    } catch {
      // best effort
    }
  };
}
