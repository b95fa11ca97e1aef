// An append-only log file written off the request path: lines are queued and written in
// batches by one asynchronous writer, rotated by size (bounded number of old files), and
// `flush()` resolves once everything queued is on disk, so a clean shutdown loses no line.
// Batching over a short window means one write (one thread-pool round trip) per window,
// not per request. electron-log's asynchronous file mode has no flush and reopens the
// file per batch.
// `append()` is the audit's form: it resolves once that line's write has returned (and,
// with `sync`, once it is on disk) and rejects when it failed. Lines appended while a
// write is in flight go out together in the next one (group commit: one write, and one
// fsync, shared by every request that waited for it).
import { appendFileSync, fstatSync, mkdirSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { rotate } from './rotate.js';

export interface AppendFileOptions {
  maxBytes: number;
  keep: number;
  /** Told about a failed write (the lines of that batch are lost, later ones are tried). */
  onError?: (err: Error) => void;
  /** Gather lines this long before writing them together (0: write at once). */
  batchMs?: number;
  /** fsync each batch before its `append()` calls resolve (durable against power loss). */
  sync?: boolean;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

// A process that exits without flushing (an error path) still writes what is queued.
const open_ = new Set<AppendFile>();
function writeQueuedAtExit(): void {
  for (const f of open_) f.writeQueuedSync();
}

export class AppendFile {
  private queue: string[] = [];
  /** The `append()` calls whose lines are in `queue`. */
  private waiters: Waiter[] = [];
  private writing: Promise<void> | null = null;
  private handle: FileHandle | null = null;
  private size = 0;
  private ino = -1;
  private dev = -1;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly path: string,
    private readonly opts: AppendFileOptions,
  ) {
    if (open_.size === 0) process.once('exit', writeQueuedAtExit);
    open_.add(this);
  }

  /** At exit, synchronously: what is still queued (not what a write has in flight). */
  writeQueuedSync(): void {
    if (this.queue.length === 0) return;
    try {
      appendFileSync(this.path, this.queue.join(''), { mode: 0o600 });
      this.queue = [];
    } catch {
      // nothing more can be done at exit
    }
  }

  /** Write one line; resolves once its write has returned (rejects if it failed). */
  append(line: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.write(line);
    });
  }

  /** Queue one line (a newline is added); returns at once. */
  write(line: string): void {
    this.queue.push(`${line}\n`);
    if (this.writing || this.timer) return;
    if (!this.opts.batchMs) {
      this.writing = this.drain();
      return;
    }
    this.timer = setTimeout(() => this.startDrain(), this.opts.batchMs);
    this.timer.unref();
  }

  private startDrain(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.writing ??= this.drain();
  }

  /** Resolves when every line queued so far has been written. */
  async flush(): Promise<void> {
    if (this.timer) this.startDrain();
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
        const waiters = this.waiters;
        this.queue = [];
        this.waiters = [];
        try {
          await this.appendText(text);
          for (const w of waiters) w.resolve();
        } catch (err) {
          this.opts.onError?.(err as Error);
          await this.handle?.close().catch(() => {});
          this.handle = null;
          for (const w of waiters) w.reject(err as Error);
        }
      }
    } finally {
      this.writing = null;
    }
  }

  private async appendText(text: string): Promise<void> {
    const bytes = Buffer.byteLength(text);
    // The path must still name the file we hold: a folder removed or replaced under us
    // would otherwise swallow lines into an unlinked file (a stat, not a reopen, per batch).
    if (this.handle && !this.stillOurs()) {
      await this.handle.close().catch(() => {});
      this.handle = null;
    }
    if (!this.handle) await this.openFile();
    // The size now, not as cached: `token create|revoke` append to the same file from
    // another process, and a failed write must not cut their records off.
    this.size = fstatSync(this.handle!.fd).size;
    if (this.size > 0 && this.size + bytes > this.opts.maxBytes) {
      await this.handle!.close();
      this.handle = null;
      rotate(this.path, this.opts.keep);
      await this.openFile();
    }
    try {
      // One write may take only part (a nearly full disk): the rest is written, or fails.
      const buf = Buffer.from(text);
      for (let at = 0; at < buf.length;) {
        const { bytesWritten } = await this.handle!.write(buf, at);
        if (bytesWritten <= 0) throw new Error('the file took no bytes');
        at += bytesWritten;
      }
    } catch (err) {
      // A write cut short (a full disk) leaves part of a line: cut it off, back to where
      // this write began, so the next line written is not glued to it and the file holds
      // whole records only (another process's lines before it stay).
      await this.handle!.truncate(this.size).catch(() => {});
      throw err;
    }
    this.size += bytes;
    if (this.opts.sync) await this.handle!.datasync();
  }

  private stillOurs(): boolean {
    try {
      const st = statSync(this.path);
      return st.ino === this.ino && st.dev === this.dev;
    } catch {
      return false;
    }
  }

  private async openFile(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    this.handle = await open(this.path, 'a', 0o600);
    await this.handle.chmod(0o600);
    const st = await this.handle.stat();
    this.size = st.size;
    this.ino = st.ino;
    this.dev = st.dev;
  }
}
