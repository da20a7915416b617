// The MapLibre map of the blueprint: its layers are the map (no basemap), with a legend that
// toggles them, class colours found in the tiles, and feature popups in Chinese.

import * as maplibregl from 'maplibre-gl';
import { api, authHeaders } from './api.js';
import { ClassRegistry, LEGEND_ORDER, ROLE_TITLES, blueprintStyle, layerStyleIds, sourceId, swatchColour } from './style.js';
import { $, h, m2 } from './util.js';

// MapLibre 6 starts its tile workers from this module, copied next to app.js by the build.
maplibregl.setWorkerUrl(new URL('maplibre-gl-worker.mjs', import.meta.url).href);

// CJK labels are drawn by the browser from local fonts (no glyph server); fonts-noto-cjk on
// Debian, the usual system fonts elsewhere.
const IDEOGRAPH_FONTS = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif';

const FIELD_NAMES = {
  id: '编号',
  class: '分类代码',
  class_name: '分类名称',
  name: '名称',
  kind: '类型',
  level: '等级',
  species: '树种',
  town: '镇街',
  diameter_mm: '管径（mm）',
  voltage_kv: '电压（kV）',
  valid_until: '有效期至',
  rule: '差异类型',
  state: '状态',
  area_m2: '面积（m²）',
};

export function createMap(container, bp) {
  const origin = window.location.origin;
  const map = new maplibregl.Map({
    container,
    style: blueprintStyle(bp, origin),
    bounds: bp.bbox || undefined,
    fitBoundsOptions: { padding: 20 },
    localIdeographFontFamily: IDEOGRAPH_FONTS,
    attributionControl: false,
    maxZoom: 20,
    // Tiles need the key too when the server admits no anonymous readers.
    transformRequest: (url) => (url.startsWith(origin) ? { url, headers: authHeaders() } : { url }),
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-left');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  return map;
}

/** Builds the legend with a toggle per layer; plan layers list the classes seen in the tiles. */
export function buildLegend(map, bp, root) {
  const registry = new ClassRegistry(bp);
  const classLists = new Map();
  root.replaceChildren();
  const groups = new Map(LEGEND_ORDER.map((r) => [r, []]));
  for (const l of bp.layers) {
    if (!groups.has(l.role)) groups.set(l.role, []);
    groups.get(l.role).push(l);
  }
  for (const [role, layers] of groups) {
    if (!layers.length) continue;
    const box = h('section', { class: 'legend-group' }, h('h3', {}, ROLE_TITLES[role] || role));
    for (const l of layers) {
      const ids = layerStyleIds(map, l);
      const visible = ids.some((id) => map.getLayoutProperty(id, 'visibility') !== 'none');
      const swatch = h('span', { class: `swatch ${l.kind}`, style: `--c:${swatchColour(l)}` });
      const box2 = h('input', {
        type: 'checkbox',
        checked: visible,
        dataset: { layer: l.id },
        onchange: (e) => setLayerVisible(map, l, e.target.checked),
      });
      const row = h('label', { class: 'legend-row', title: `${l.title}（${l.id}）` },
        box2, swatch, h('span', { class: 'name' }, l.title), h('small', {}, String(l.feature_count)));
      box.append(row);
      if (registry.classes.has(l.id)) {
        const list = h('ul', { class: 'classes' });
        classLists.set(l.id, list);
        box.append(h('details', { class: 'legend-classes' }, h('summary', {}, '分类图例'), list));
      }
    }
    root.append(box);
  }
  const extra = h('section', { class: 'legend-group' }, h('h3', {}, '成果'),
    h('label', { class: 'legend-row' },
      h('input', {
        type: 'checkbox',
        id: 'toggle-conflicts',
        onchange: (e) => setConflictsVisible(map, e.target.checked),
      }),
      h('span', { class: 'swatch polygon', style: '--c:#e53935' }), h('span', { class: 'name' }, '差异图斑')));
  root.append(extra);

  const refresh = () => {
    for (const id of registry.collect(map)) {
      const layer = bp.layers.find((l) => l.id === id);
      registry.apply(map, layer);
      const list = classLists.get(id);
      list.replaceChildren(...registry.entries(layer).map(([code, name, colour]) =>
        h('li', {}, h('span', { class: 'swatch polygon', style: `--c:${colour}` }), h('code', {}, code), ' ', name)));
    }
  };
  map.on('idle', refresh);
  return { registry, refresh };
}

const hiddenLabels = new Set();

export function setLayerVisible(map, layer, on) {
  for (const id of layerStyleIds(map, layer)) map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
  if (layer.role === 'boundary') {
    if (on) hiddenLabels.delete(layer.id);
    else hiddenLabels.add(layer.id);
    map.setFilter('boundary-labels', hiddenLabels.size ? ['!', ['in', ['get', 'layer'], ['literal', [...hiddenLabels]]]] : null);
  }
}

/**
 * A point well inside a polygon for its label: of the largest part, the grid point farthest
 * from the edges (a coarse pole of inaccessibility).
 */
export function labelPoint(geometry) {
  const parts = geometry.type === 'Polygon' ? [geometry.coordinates]
    : geometry.type === 'MultiPolygon' ? geometry.coordinates : [];
  const ringArea = (r) => r.reduce((s, p, i) => { const q = r[(i + 1) % r.length]; return s + p[0] * q[1] - q[0] * p[1]; }, 0) / 2;
  let best = null;
  for (const p of parts) if (p.length && (!best || Math.abs(ringArea(p[0])) > Math.abs(ringArea(best[0])))) best = p;
  if (!best) return null;
  const inside = (x, y) => {
    let c = false;
    for (const ring of best) {
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [xi, yi] = ring[i], [xj, yj] = ring[j];
        if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c = !c;
      }
    }
    return c;
  };
  const edgeDistance = (x, y) => {
    let d = Infinity;
    for (const ring of best) {
      for (let i = 0; i + 1 < ring.length; i++) {
        const [ax, ay] = ring[i], [bx, by] = ring[i + 1];
        const dx = bx - ax, dy = by - ay;
        const t = dx || dy ? Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy))) : 0;
        d = Math.min(d, Math.hypot(x - ax - t * dx, y - ay - t * dy));
      }
    }
    return d;
  };
  const xs = best[0].map((p) => p[0]), ys = best[0].map((p) => p[1]);
  const [w, e, s, n] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  let pick = [(w + e) / 2, (s + n) / 2], far = -1;
  const steps = 24;
  for (let i = 0; i <= steps; i++) {
    for (let j = 0; j <= steps; j++) {
      const x = w + ((e - w) * i) / steps, y = s + ((n - s) * j) / steps;
      if (!inside(x, y)) continue;
      const d = edgeDistance(x, y);
      if (d > far) { far = d; pick = [x, y]; }
    }
  }
  return pick;
}

/**
 * Labels each administrative unit once: shapes from the OGC API (lon/lat), names from the
 * tiles' `name` property, joined by feature id.
 */
export async function boundaryLabels(map, bp) {
  const layers = bp.layers.filter((l) => l.role === 'boundary' && l.kind === 'polygon' && l.feature_count <= 2000);
  const shapes = [];
  for (const l of layers) {
    try {
      const fc = await api(`/ogc/collections/${encodeURIComponent(l.id)}/items?limit=2000`);
      for (const f of fc.features) {
        const point = f.geometry && labelPoint(f.geometry);
        if (point) shapes.push({ layer: l.id, id: String(f.id), point });
      }
    } catch (err) {
      console.warn('boundary labels:', err.message);
    }
  }
  const names = new Map();
  const update = () => {
    let grew = false;
    for (const l of layers) {
      if (!map.getSource(sourceId(l))) continue;
      for (const f of map.querySourceFeatures(sourceId(l), { sourceLayer: l.id })) {
        const key = `${l.id}:${f.properties.id}`;
        const name = f.properties.name || f.properties.town;
        if (name && !names.has(key)) {
          names.set(key, String(name));
          grew = true;
        }
      }
    }
    if (!grew) return;
    map.getSource('labels').setData({
      type: 'FeatureCollection',
      features: shapes.filter((s) => names.has(`${s.layer}:${s.id}`)).map((s) => ({
        type: 'Feature',
        properties: { name: names.get(`${s.layer}:${s.id}`), layer: s.layer },
        geometry: { type: 'Point', coordinates: s.point },
      })),
    });
  };
  map.on('idle', update);
  update();
}

export function setConflictsVisible(map, on) {
  for (const id of ['conflicts-fill', 'conflicts-line']) map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
  const box = $('#toggle-conflicts');
  if (box) box.checked = on;
}

/** Reloads the conflict tiles (after a run or a transition changed the ledger). */
export function reloadConflicts(map) {
  const src = map.getSource('conflicts');
  if (!src) return;
  const url = `${window.location.origin}/tiles/conflicts/{z}/{x}/{y}.pbf?t=${Date.now()}`;
  src.setTiles([url]);
}

let highlighted = null;

/** The geometry outlined on the map, if any. */
export const highlightedGeometry = () => highlighted;

/** Outlines a GeoJSON geometry on the map and zooms to it. */
export function highlight(map, geometry, bounds) {
  const src = map.getSource('highlight');
  if (!src) return;
  highlighted = geometry || null;
  src.setData(geometry
    ? { type: 'FeatureCollection', features: [{ type: 'Feature', properties: {}, geometry }] }
    : { type: 'FeatureCollection', features: [] });
  if (bounds) map.fitBounds(bounds, { padding: 80, maxZoom: 17, duration: 600 });
}

/** Popups listing the attributes of what was clicked (not while drawing). */
export function enablePopups(map, bp, { isDrawing, onConflict }) {
  const titles = new Map(bp.layers.map((l) => [l.id, l.title]));
  map.on('click', (e) => {
    if (isDrawing()) return;
    const hits = map.queryRenderedFeatures(e.point).filter((f) => f.layer.id !== 'background' && !f.layer.id.startsWith('td-') && f.layer.id !== 'highlight-fill' && f.layer.id !== 'highlight-line');
    if (!hits.length) return;
    const seen = new Set();
    const body = h('div', { class: 'popup' });
    for (const f of hits) {
      const layerId = f.sourceLayer || f.source;
      const key = `${layerId}:${f.properties.id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (seen.size > 4) break;
      const rows = Object.entries(f.properties)
        .filter(([k]) => FIELD_NAMES[k])
        .map(([k, v]) => h('tr', {}, h('th', {}, FIELD_NAMES[k]), h('td', {}, k === 'area_m2' ? m2(Number(v)) : String(v))));
      const title = layerId === 'conflicts' ? '差异图斑' : titles.get(layerId) || layerId;
      const block = h('div', { class: 'popup-block' }, h('h4', {}, title), h('table', {}, rows));
      if (layerId === 'conflicts' && onConflict) {
        block.append(h('button', { type: 'button', onclick: () => onConflict(String(f.properties.id)) }, '查看详情'));
      }
      body.append(block);
    }
    new maplibregl.Popup({ maxWidth: '320px' }).setLngLat(e.lngLat).setDOMContent(body).addTo(map);
  });
}
