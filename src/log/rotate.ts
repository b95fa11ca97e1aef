// Size-based rotation keeping a bounded number of old files: NAME.log → NAME.1.log → …
// → NAME.<keep>.log, the oldest dropped. electron-log's own rotation keeps only one.
import { renameSync, rmSync } from 'node:fs';
import { parse, join } from 'node:path';

export function rotatedPaths(current: string, keep: number): string[] {
  const { dir, name, ext } = parse(current);
  return Array.from({ length: keep }, (_, i) => join(dir, `${name}.${i + 1}${ext}`));
}

export function rotate(current: string, keep: number): void {
  const old = rotatedPaths(current, keep);
  rmSync(old[keep - 1]!, { force: true });
  for (let i = keep - 1; i > 0; i--) {
    try {
      renameSync(old[i - 1]!, old[i]!);
    } catch {
      // a gap in the sequence is fine
    }
  }
  renameSync(current, old[0]!);
}
