// Small DOM and number helpers shared by the panels.

/** Creates an element: h('td', {class: 'num'}, '12.5', child…). Strings become text nodes. */
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

const nf2 = new Intl.NumberFormat('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const nf1 = new Intl.NumberFormat('zh-CN', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** Square metres with two decimals (the precision of the checklist). */
export const m2 = (v) => (Number.isFinite(v) ? nf2.format(v) : '—');
/** 亩 (1 亩 = 2000/3 m²), the unit land offices read first. */
export const mu = (v) => (Number.isFinite(v) ? nf2.format(v / (2000 / 3)) : '—');
/** A 0–1 share as a percentage. */
export const pct = (v) => (Number.isFinite(v) ? `${nf1.format(v * 100)}%` : '—');
export const metres = (v) => (Number.isFinite(v) ? `${nf1.format(v)} m` : '—');

/** Shows a short message at the bottom of the page; errors stay until replaced. */
export function toast(text, kind = 'info') {
  const t = document.getElementById('toast');
  if (!t) return;
  t.textContent = text;
  t.className = `show ${kind}`;
  clearTimeout(toast.timer);
  if (kind !== 'error') toast.timer = setTimeout(() => { t.className = ''; }, 4000);
}

/** Saves a blob under a file name through a temporary link. */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The file name in a Content-Disposition header, if any. */
export function dispositionName(header) {
  if (!header) return null;
  const star = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (star) return decodeURIComponent(star[1]);
  const plain = /filename="?([^";]+)"?/i.exec(header);
  return plain ? plain[1] : null;
}

/** Bounding box [[w,s],[e,n]] of any GeoJSON geometry, or null when it has no coordinates. */
export function geometryBounds(g) {
  let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      w = Math.min(w, c[0]); e = Math.max(e, c[0]);
      s = Math.min(s, c[1]); n = Math.max(n, c[1]);
    } else c.forEach(walk);
  };
  if (!g) return null;
  if (g.type === 'GeometryCollection') g.geometries.forEach((x) => x.coordinates && walk(x.coordinates));
  else if (g.coordinates) walk(g.coordinates);
  return Number.isFinite(w) ? [[w, s], [e, n]] : null;
}
