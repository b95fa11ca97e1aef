// WCAG 2 contrast, measured in the page from Chromium's computed styles: every visible
// text element's colour against the background it is painted on (translucent layers
// blended over what is below), and every visible button's border against what surrounds
// the button. A string, run by page.evaluate, so no test-runner helpers leak into it.

export interface ContrastReport {
  text: { what: string; ratio: number }[];
  borders: { what: string; ratio: number }[];
}

export const CONTRAST_SCRIPT = `(() => {
  const parse = (c) => {
    let m = /^rgba?\\(([\\d.]+),\\s*([\\d.]+),\\s*([\\d.]+)(?:,\\s*([\\d.]+))?\\)$/.exec(c);
    if (m) return [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]];
    m = /^color\\(srgb ([\\d.]+) ([\\d.]+) ([\\d.]+)(?: \\/ ([\\d.]+))?\\)$/.exec(c);
    if (m) return [m[1] * 255, m[2] * 255, m[3] * 255, m[4] === undefined ? 1 : +m[4]];
    throw new Error('unparsed colour ' + c);
  };
  const over = (top, below) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + below[i] * (1 - a)).concat(1);
  };
  const background = (el) => {
    if (!el) return [255, 255, 255, 1];
    const own = parse(getComputedStyle(el).backgroundColor);
    if (own[3] === 1) return own;
    return over(own, background(el.parentElement));
  };
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const name = (el) => el.id ? '#' + el.id : el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' "' + (el.textContent || '').trim().slice(0, 30) + '"';
  const text = [];
  for (const el of document.querySelectorAll('body *')) {
    if (!visible(el)) continue;
    const ownText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!ownText) continue;
    const bg = background(el);
    text.push({ what: name(el), ratio: ratio(over(parse(getComputedStyle(el).color), bg), bg) });
  }
  const borders = [];
  for (const b of document.querySelectorAll('button')) {
    if (!visible(b)) continue;
    const outside = background(b.parentElement);
    borders.push({ what: name(b), ratio: ratio(over(parse(getComputedStyle(b).borderTopColor), outside), outside) });
  }
  return { text, borders };
})()`;
