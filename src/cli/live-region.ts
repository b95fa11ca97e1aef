// The bottom of a terminal as a redrawable block: the prompt lives there and is redrawn in
// place (countdown, queue changes), while history (outcomes, log lines) is written above
// it and stays. Lines are wrapped here, so the number of rows drawn is known exactly and
// the next redraw erases precisely the old block (cursor up that many rows, erase below).
// Without a capable terminal (not a TTY, or TERM=dumb) nothing is erased: a block is
// appended when it changed, and log lines simply follow it.

export interface ScreenStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
  on?(event: 'resize', fn: () => void): unknown;
  off?(event: 'resize', fn: () => void): unknown;
}

/** Continuation rows are indented, by less on a very narrow terminal. */
const indentFor = (width: number) => ' '.repeat(Math.min(4, Math.floor(width / 2)));

/**
 * Cells a code point takes, never less than the terminal uses: below U+1100 one cell,
 * from there on (CJK, emoji, …) two. Over-counting only wraps a line a little early;
 * under-counting would let the terminal wrap it and spoil the row count.
 */
function cells(cp: number): number {
  return cp < 0x1100 ? 1 : 2;
}

export function widthOf(text: string): number {
  let w = 0;
  for (const ch of text) w += cells(ch.codePointAt(0)!);
  return w;
}

/** Break a line into rows of at most `width` cells; later rows are indented. */
export function wrapLine(line: string, width: number): string[] {
  if (widthOf(line) <= width) return [line];
  const indent = indentFor(width);
  const rows: string[] = [];
  let row = '';
  let w = 0;
  for (const ch of line) {
    const c = cells(ch.codePointAt(0)!);
    if (w + c > width && w > indent.length) {
      rows.push(row);
      row = indent;
      w = indent.length;
    }
    row += ch;
    w += c;
  }
  rows.push(row);
  return rows;
}

export class LiveRegion {
  /** Rows of the block now on screen (after wrapping), with their widths. */
  private drawn: number[] = [];
  private block: readonly string[] = [];
  private lastAppended = '';
  readonly interactive: boolean;

  constructor(
    private readonly out: ScreenStream,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.interactive = out.isTTY === true && env.TERM !== 'dumb';
  }

  /** Rows a block may take and still be erased whole (cursor-up stops at the top row). */
  get maxRows(): number {
    const rows = this.interactive ? this.out.rows : undefined;
    return rows && rows > 0 ? rows - 1 : Infinity;
  }

  private width(): number {
    const cols = this.out.columns && this.out.columns > 10 ? this.out.columns : 80;
    return cols - 1; // never the last column: some terminals wrap on it
  }

  /** Lines as rows: wrapped by us when we must count them, else left to the terminal. */
  private rowsOf(lines: readonly string[]): string[] {
    return this.interactive ? lines.flatMap((l) => wrapLine(l, this.width())) : [...lines];
  }

  /** Escape codes that erase the block drawn last (the cursor is on the row below it). */
  private erase(): string {
    if (!this.interactive || this.drawn.length === 0) return '';
    // After a resize the terminal may have re-flowed the old rows: count them at today's width.
    const cols = this.width() + 1;
    const rows = this.drawn.reduce((n, w) => n + Math.max(1, Math.ceil(w / cols)), 0);
    this.drawn = [];
    return `\x1b[${rows}A\r\x1b[J`;
  }

  private draw(): string {
    if (this.block.length === 0) return '';
    const rows = this.rowsOf(this.block);
    if (!this.interactive) {
      // Appending: print a block only when it changed, and when lines were only added at
      // its end (a note), only those.
      const text = rows.join('\n');
      const before = this.lastAppended;
      this.lastAppended = text;
      if (text === before || before.startsWith(`${text}\n`)) return '';
      if (before && text.startsWith(`${before}\n`)) return `${text.slice(before.length + 1)}\n`;
      return `${text}\n`;
    }
    this.drawn = rows.map(widthOf);
    return `${rows.join('\n')}\n`;
  }

  /** Write `history` above the block (it stays), then show `block` in place of the old one. */
  render(history: readonly string[], block: readonly string[]): void {
    let text = this.erase();
    for (const row of this.rowsOf(history)) text += `${row}\n`;
    this.block = block;
    text += this.draw();
    if (text) this.out.write(text);
  }

  /** Call `fn` when the terminal is resized (to redraw at the new width); returns an off switch. */
  onResize(fn: () => void): () => void {
    if (!this.interactive || !this.out.on) return () => {};
    this.out.on('resize', fn);
    return () => this.out.off?.('resize', fn);
  }

  /**
   * Send a terminal mode switch (e.g. bracketed paste on or off) straight to the terminal —
   * to any TTY, TERM=dumb too: a terminal that does not know it ignores it.
   */
  setMode(sequence: string): void {
    if (this.out.isTTY === true) this.out.write(sequence);
  }

  /** Let `write` put text on the stream (a log line) above the block, then redraw the block. */
  around(write: () => void): void {
    const erase = this.erase();
    if (erase) this.out.write(erase);
    write();
    // Appending, the block printed before stays the latest one shown: no need to repeat it.
    if (!this.interactive) return;
    const again = this.draw();
    if (again) this.out.write(again);
  }
}
