// An append-only log file written off the request path: lines are queued and written in
// batches by one asynchronous writer, rotated by size (bounded number of old files), and
// `flush()` resolves once everything queued is on disk, so a clean shutdown loses no line.
// electron-log's own asynchronous file mode has no flush and reopens the file per batch.
import { mkdirSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { rotate } from './rotate.js';

export interface AppendFileOptions {
  maxBytes: number;
  keep: number;
  /** Told about a failed write (the lines of that batch are lost, later ones are tried). */
  onError?: (err: Error) => void;
}

export class AppendFile {
  private queue: string[] = [];
  private writing: Promise<void> | null = null;
  private handle: FileHandle | null = null;
  private size = 0;

  constructor(
    readonly path: string,
    private readonly opts: AppendFileOptions,
  ) {}

  /** Queue one line (a newline is added); returns at once. */
  write(line: string): void {
    this.queue.push(`${line}\n`);
    this.writing ??= this.drain();
  }

  /** Resolves when every line queued so far has been written. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.handle?.close();
    this.handle = null;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const text = this.queue.join('');
        this.queue = [];
        try {
          await this.append(text);
        } catch (err) {
          this.opts.onError?.(err as Error);
          await this.handle?.close().catch(() => {});
          this.handle = null;
        }
      }
    } finally {
      this.writing = null;
    }
  }

  private async append(text: string): Promise<void> {
    const bytes = Buffer.byteLength(text);
    if (!this.handle) await this.openFile();
    if (this.size > 0 && this.size + bytes > this.opts.maxBytes) {
      await this.handle!.close();
      this.handle = null;
      rotate(this.path, this.opts.keep);
      await this.openFile();
    }
    await this.handle!.write(text);
    this.size += bytes;
  }

  private async openFile(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    this.handle = await open(this.path, 'a', 0o600);
    await this.handle.chmod(0o600);
    this.size = statSync(this.path).size;
  }
}
