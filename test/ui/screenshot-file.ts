// Screenshots the README shows, written by the UI tests from the real renderer. Chromium's
// software raster may differ by a level or two on anti-aliased edges from run to run; a
// picture within that noise of the committed one is left alone, so the files change only
// when the window does.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { launch } from './harness.js';

/** Channels may differ by at most this many levels (of 255) and still be the same picture. */
const NOISE_LEVELS = 8;

async function samePicture(a: Buffer, b: Buffer): Promise<boolean> {
  const context = await (await launch()).newContext();
  try {
    const page = await context.newPage();
    return (await page.evaluate(
      `(async ([a, b, noise]) => {
        const load = async (d) => {
          const i = new Image();
          i.src = 'data:image/png;base64,' + d;
          await i.decode();
          const c = new OffscreenCanvas(i.width, i.height);
          const x = c.getContext('2d');
          x.drawImage(i, 0, 0);
          return [i.width, i.height, x.getImageData(0, 0, i.width, i.height).data];
        };
        const [wa, ha, da] = await load(a);
        const [wb, hb, db] = await load(b);
        if (wa !== wb || ha !== hb) return false;
        for (let i = 0; i < da.length; i++) if (Math.abs(da[i] - db[i]) > noise) return false;
        return true;
      })(${JSON.stringify([a.toString('base64'), b.toString('base64'), NOISE_LEVELS])})`,
    )) as boolean;
  } finally {
    await context.close();
  }
}

export async function writeScreenshot(page: Page, path: string): Promise<void> {
  const png = await page.screenshot({ animations: 'disabled' });
  if (existsSync(path) && (await samePicture(readFileSync(path), png))) return;
  writeFileSync(path, png);
}
