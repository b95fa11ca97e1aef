// Starting the app while it runs opens its window instead of a second proxy. Windows and
// Linux deliver that as `second-instance` (the new process loses the single-instance lock);
// macOS re-launches of a running app (Finder, Spotlight, `open`) arrive as `activate`.
import type { App } from 'electron';

export function openWindowOnReopen(
  app: Pick<App, 'on'>,
  open: () => void,
  platform: NodeJS.Platform,
): void {
  app.on('second-instance', open);
  if (platform === 'darwin') app.on('activate', open);
}
