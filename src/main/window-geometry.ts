// Where the approval window goes: next to the tray icon when the OS says where it is
// (macOS, Windows), else centred on the work area of the display the person is using.
// Pure, so it is tested in Node.
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The approval window's content size before its page has said how tall it is. */
export const APPROVAL_SIZE = { width: 460, height: 420 } as const;
/** Its page's height is honoured within these bounds (and within the work area). */
export const APPROVAL_HEIGHT = { min: 200, max: 640 } as const;
/** Room left for a title bar when fitting content to the work area. */
const FRAME_ALLOWANCE = 48;
export const ACTIVITY_SIZE = { width: 780, height: 640 } as const;

const MARGIN = 8;

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(v, hi));
}

/**
 * The content height to give the approval window for a page that needs `wanted` CSS
 * pixels: whole pixels, never below a usable minimum, never taller than the cap or the
 * work area (the page scrolls its details instead, its buttons stay in view).
 */
export function approvalContentHeight(wanted: number, workArea: Rect): number {
  const room = workArea.height - 2 * MARGIN - FRAME_ALLOWANCE;
  const max = Math.max(APPROVAL_HEIGHT.min, Math.min(APPROVAL_HEIGHT.max, room));
  const h = Number.isFinite(wanted) ? Math.ceil(wanted) : APPROVAL_SIZE.height;
  return clamp(h, APPROVAL_HEIGHT.min, max);
}

/** `tray` is null (or empty) where Electron cannot tell (Linux). */
export function approvalWindowPosition(
  tray: Rect | null,
  workArea: Rect,
  size: { width: number; height: number } = APPROVAL_SIZE,
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
