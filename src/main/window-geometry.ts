// Where the approval window goes: next to the tray icon when the OS says where it is
// (macOS, Windows), else centred on the work area of the display the person is using.
// Pure, so it is tested in Node.
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const APPROVAL_SIZE = { width: 460, height: 540 } as const;
export const ACTIVITY_SIZE = { width: 780, height: 640 } as const;

const MARGIN = 8;

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(v, hi));
}

/** `tray` is null (or empty) where Electron cannot tell (Linux). */
export function approvalWindowPosition(
  tray: Rect | null,
  workArea: Rect,
  size = APPROVAL_SIZE,
): { x: number; y: number } {
  const maxX = workArea.x + workArea.width - size.width - MARGIN;
  const maxY = workArea.y + workArea.height - size.height - MARGIN;
  if (!tray || tray.width === 0 || tray.height === 0) {
    return {
      x: Math.round(workArea.x + (workArea.width - size.width) / 2),
      y: Math.round(workArea.y + (workArea.height - size.height) / 2),
    };
  }
  // Centre under (or over) the icon, whichever edge the tray is on; stay on screen.
  const trayCentreX = tray.x + tray.width / 2;
  const trayAtTop = tray.y < workArea.y + workArea.height / 2;
  const x = clamp(Math.round(trayCentreX - size.width / 2), workArea.x + MARGIN, maxX);
  const y = trayAtTop
    ? clamp(tray.y + tray.height + MARGIN, workArea.y + MARGIN, maxY)
    : clamp(tray.y - size.height - MARGIN, workArea.y + MARGIN, maxY);
  return { x, y };
}
