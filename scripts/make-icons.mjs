// Renders every icon from the two SVG sources in assets/icon-source with headless
// Chromium, so anyone can regenerate them: `npm run icons` (needs /usr/bin/chromium or
// CHROMIUM_PATH). Writes
//   assets/tray-<state>.png, @2x       Linux and fallback (coloured)
//   assets/tray-<state>Template.png, @2x  macOS menu bar (black + alpha; macOS tints it)
//   assets/tray-<state>.ico            Windows (16, 20, 24, 32, 48 px)
//   build/icon.png, build/icons/<n>x<n>.png, build/icon.ico, build/icon.icns   app icon
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const STATES = {
  idle: { glyph: '#2563eb', badge: '' },
  waiting: {
    glyph: '#2563eb',
    badge: '<circle cx="25" cy="8" r="6.5" fill="#f59e0b" stroke="#fff" stroke-width="1.5"/>',
  },
  paused: {
    glyph: '#6b7280',
    badge:
      '<g fill="#6b7280"><rect x="20" y="2" width="4" height="11" rx="1"/><rect x="26.5" y="2" width="4" height="11" rx="1"/></g>',
  },
  unreachable: {
    glyph: '#6b7280',
    badge: '<path d="M4 28L28 4" stroke="#dc2626" stroke-width="3.4" stroke-linecap="round"/>',
  },
};
// macOS template images are pure black with alpha; the badge must stay readable in one colour.
const TEMPLATE_BADGE = {
  idle: '',
  waiting: '<circle cx="25" cy="8" r="6" fill="#000"/>',
  paused:
    '<g fill="#000"><rect x="20" y="2" width="4" height="11" rx="1"/><rect x="26.5" y="2" width="4" height="11" rx="1"/></g>',
  unreachable: '<path d="M4 28L28 4" stroke="#000" stroke-width="3.4" stroke-linecap="round"/>',
};

const traySource = readFileSync('assets/icon-source/tray.svg', 'utf8');
const appSource = readFileSync('assets/icon-source/app.svg', 'utf8');
const fill = (glyph, badge) =>
  traySource.replaceAll('{{GLYPH}}', glyph).replaceAll('{{BADGE}}', badge);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
  ],
});
const page = await browser.newPage();

async function png(svg, size) {
  await page.setViewportSize({ width: size, height: size });
  const data = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
  await page.setContent(
    `<html><body style="margin:0;background:transparent"><img src="${data}" width="${size}" height="${size}" style="display:block"></body></html>`,
  );
  await page.locator('img').evaluate((img) => img.decode());
  return page.screenshot({ omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } });
}

/** ICO with PNG entries (Windows Vista and later read these). */
function ico(images) {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2);
  header.writeUInt16LE(images.length, 4);
  let offset = 6 + 16 * images.length;
  const entries = images.map(({ size, data }) => {
    const e = Buffer.alloc(16);
    e.writeUInt8(size >= 256 ? 0 : size, 0);
    e.writeUInt8(size >= 256 ? 0 : size, 1);
    e.writeUInt16LE(1, 4);
    e.writeUInt16LE(32, 6);
    e.writeUInt32LE(data.length, 8);
    e.writeUInt32LE(offset, 12);
    offset += data.length;
    return e;
  });
  return Buffer.concat([header, ...entries, ...images.map((i) => i.data)]);
}

/** ICNS with PNG entries. */
function icns(images) {
  const TYPES = {
    16: 'icp4',
    32: 'icp5',
    64: 'icp6',
    128: 'ic07',
    256: 'ic08',
    512: 'ic09',
    1024: 'ic10',
  };
  const chunks = images.map(({ size, data }) => {
    const head = Buffer.alloc(8);
    head.write(TYPES[size], 0, 'ascii');
    head.writeUInt32BE(8 + data.length, 4);
    return Buffer.concat([head, data]);
  });
  const head = Buffer.alloc(8);
  head.write('icns', 0, 'ascii');
  head.writeUInt32BE(8 + chunks.reduce((n, c) => n + c.length, 0), 4);
  return Buffer.concat([head, ...chunks]);
}

mkdirSync('assets', { recursive: true });
mkdirSync('build/icons', { recursive: true });
for (const [state, { glyph, badge }] of Object.entries(STATES)) {
  const colour = fill(glyph, badge);
  writeFileSync(`assets/tray-${state}.png`, await png(colour, 24));
  writeFileSync(`assets/tray-${state}@2x.png`, await png(colour, 48));
  const template = fill('#000', TEMPLATE_BADGE[state]);
  writeFileSync(`assets/tray-${state}Template.png`, await png(template, 16));
  writeFileSync(`assets/tray-${state}Template@2x.png`, await png(template, 32));
  const sizes = [16, 20, 24, 32, 48];
  writeFileSync(
    `assets/tray-${state}.ico`,
    ico(await Promise.all(sizes.map(async (size) => ({ size, data: await png(colour, size) })))),
  );
}
const appSizes = [16, 32, 48, 64, 128, 256, 512, 1024];
const appPngs = {};
for (const size of appSizes) {
  appPngs[size] = await png(appSource, size);
  writeFileSync(`build/icons/${size}x${size}.png`, appPngs[size]);
}
writeFileSync('build/icon.png', appPngs[1024]);
writeFileSync(
  'build/icon.ico',
  ico([16, 32, 48, 64, 128, 256].map((size) => ({ size, data: appPngs[size] }))),
);
writeFileSync(
  'build/icon.icns',
  icns([16, 32, 64, 128, 256, 512, 1024].map((size) => ({ size, data: appPngs[size] }))),
);
await browser.close();
console.log('icons written to assets/ and build/');
