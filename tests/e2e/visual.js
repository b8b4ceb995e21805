// Visual checks run inside the page on one rendered view (`root`): is every text readable
// against what is behind it (WCAG contrast), and does the view fit its output area?
(root) => {
  const bound = root.closest('.jp-OutputArea-output') || root.parentElement;
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const over = (top, below) => {
    const a = top.a + below.a * (1 - top.a);
    if (a === 0) return {r: 0, g: 0, b: 0, a: 0};
    const mix = (k) => (top[k] * top.a + below[k] * below.a * (1 - top.a)) / a;
    return {r: mix('r'), g: mix('g'), b: mix('b'), a};
  };
  const lum = (c) => {
    const ch = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * ch(c.r) + 0.7152 * ch(c.g) + 0.0722 * ch(c.b);
  };
  // The colour behind `el`: its own and its ancestors' backgrounds composited, page colour last.
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.backgroundImage !== 'none') return null;  // a gradient or image: not measurable
      const c = parse(s.backgroundColor);
      if (c && c.a > 0) layers.push(c);
      if (c && c.a === 1) break;
    }
    let result = {r: 255, g: 255, b: 255, a: 1};
    for (const layer of layers.reverse()) result = over(layer, result);
    return result;
  };
  const opacity = (el) => {
    let o = 1;
    for (let e = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity);
    return o;
  };
  const name = (el) => el.tagName.toLowerCase() + (el.className && typeof el.className === 'string'
    ? '.' + el.className.trim().split(/\s+/).join('.') : '');

  const contrast = [];
  let checked = 0, unmeasurable = 0;
  for (const el of [root, ...root.querySelectorAll('*')]) {
    const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent)
      .join('').trim();
    if (!text) continue;
    const rect = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    if (rect.width === 0 || rect.height === 0 || s.visibility === 'hidden') continue;
    const bg = background(el);
    if (!bg) { unmeasurable++; continue; }
    const fg = parse(s.color);
    fg.a *= opacity(el);
    const shown = over(fg, bg);
    const [hi, lo] = [lum(shown), lum(bg)].sort((x, y) => y - x);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(s.fontSize), bold = Number(s.fontWeight) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    checked++;
    if (ratio < needed) {
      contrast.push({element: name(el), text: text.slice(0, 40), ratio: Math.round(ratio * 100) / 100,
                     needed, color: s.color, background: `rgb(${bg.r|0}, ${bg.g|0}, ${bg.b|0})`});
    }
  }

  // Overflow: anything that sticks out past the output area, unless an ancestor inside the
  // view clips or scrolls it on purpose.
  const limit = bound.getBoundingClientRect().right + 1;
  const clipped = (el) => {
    for (let e = el.parentElement; e && e !== bound.parentElement; e = e.parentElement) {
      const x = getComputedStyle(e).overflowX;
      if (x !== 'visible' && e !== bound) return true;
    }
    return false;
  };
  const overflow = [];
  for (const el of [root, ...root.querySelectorAll('*')]) {
    const rect = el.getBoundingClientRect();
    if (rect.width && rect.right > limit && !clipped(el)) {
      overflow.push({element: name(el), right: Math.round(rect.right), limit: Math.round(limit)});
    }
  }
  // A box whose content is wider than itself scrolls sideways or cuts its content off;
  // only code blocks may do that.
  for (const [el, what] of [[bound, 'output area'], [root, 'view'], ...[...root.querySelectorAll('*')]
         .filter((e) => !e.closest('pre')).map((e) => [e, name(e)])]) {
    if (el.clientWidth && el.scrollWidth > el.clientWidth + 1) {
      overflow.push({element: `${what} scrolls sideways`, right: el.scrollWidth, limit: el.clientWidth});
    }
  }
  return {checked, unmeasurable, contrast, overflow};
}
