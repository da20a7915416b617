// How the blueprint's layers look: one vector-tile source per layer, styled by role, plan
// layers coloured by class with the classes found in the loaded tiles.

export const ROLE_TITLES = {
  urban_plan: '城乡规划（控规）',
  landuse_plan: '土地利用总体规划',
  control_line: '控制线',
  sector: '专项规划',
  assessment: '区域评估',
  survey: '现状普查',
  status: '现状',
  boundary: '行政区划',
  site: '地块',
};

/** Drawing order, bottom first. */
const ROLE_ORDER = ['landuse_plan', 'urban_plan', 'status', 'sector', 'assessment', 'control_line', 'boundary', 'site', 'survey'];

/** Legend order, top first. */
export const LEGEND_ORDER = ['urban_plan', 'landuse_plan', 'control_line', 'sector', 'assessment', 'survey', 'status', 'boundary', 'site'];

/**
 * Shown when the page opens: the 控规, the three control lines (三线), the towns and the survey
 * points; the city 四线, the 土规 and the pipelines are a click away in the legend.
 */
function initiallyVisible(layer) {
  if (layer.role === 'control_line') return /基本农田|生态保护红线|开发边界/.test(layer.title);
  if (layer.role === 'survey') return layer.kind === 'point';
  return layer.role === 'urban_plan' || layer.role === 'boundary';
}

// Keywords of layer titles → colour, for layers that are one thing (a control line, a pipeline).
const TITLE_COLOURS = [
  ['基本农田', '#d4a017'],
  ['生态保护红线', '#2e8b57'],
  ['开发边界', '#c62828'],
  ['蓝线', '#1e88e5'],
  ['紫线', '#8e24aa'],
  ['绿线', '#43a047'],
  ['黄线', '#f9a825'],
  ['给水', '#1565c0'],
  ['雨水', '#26a69a'],
  ['污水', '#6d4c41'],
  ['燃气', '#ef6c00'],
  ['电力', '#e53935'],
  ['通信', '#7cb342'],
  ['文物', '#8e24aa'],
  ['历史建筑', '#ad1457'],
  ['古树', '#2e7d32'],
  ['危险', '#d84315'],
  ['评估', '#795548'],
  ['行政', '#424242'],
];

function hashString(s) {
  let x = 2166136261;
  for (let i = 0; i < s.length; i++) {
    x ^= s.charCodeAt(i);
    x = Math.imul(x, 16777619);
  }
  return x >>> 0;
}

/** A colour that depends only on the text, spread around the hue circle. */
function hashedColour(text, sat = 55, light = 66) {
  const hue = Math.round((hashString(text) * 0.618033988749895) % 1 * 360);
  return `hsl(${hue}, ${sat}%, ${light}%)`;
}

export function layerColour(layer) {
  for (const [word, colour] of TITLE_COLOURS) if (layer.title.includes(word)) return colour;
  return hashedColour(layer.id, 60, 42);
}

// GB 50137-2011 (城市用地分类与规划建设用地标准) major classes, in the customary plan colours.
const GB50137 = {
  R: '#f3d36b', A: '#f08a8a', B: '#e35d5d', M: '#b88a63', W: '#b993d6', S: '#b4b4b4',
  U: '#4fa3d9', G: '#6fbf73', H: '#d7a26c', E: '#d3e6a5',
};
const GB50137_SUB = { E1: '#8ec5f0', E2: '#e9e38a', E9: '#d9e8c4', G1: '#5cb85c', G2: '#8fd18f', G3: '#b2dfb2' };

// GB/T 21010 and the 国土空间调查、规划、用途管制用地用海分类: the two-digit first level.
const TWO_DIGIT = {
  '01': '#efe48f', '02': '#c4dd7e', '03': '#5fae62', '04': '#a8d58a', '05': '#62c6d6',
  '06': '#d5df6a', '07': '#f3d36b', '08': '#f08a8a', '09': '#e35d5d', '10': '#b88a63',
  '11': '#b993d6', '12': '#b4b4b4', '13': '#4fa3d9', '14': '#6fbf73', '15': '#90a4ae',
  '16': '#eeeeee', '17': '#8ec5f0', '20': '#cfd8dc', '23': '#e0e0e0',
};

/** Fill colour of a class code in a code system. */
export function classColour(system, code) {
  const sys = (system || '').toUpperCase().replace(/[^A-Z0-9]/g, '');
  const c = String(code || '').trim();
  if (sys.startsWith('GB50137')) {
    const up = c.toUpperCase();
    return GB50137_SUB[up.slice(0, 2)] || GB50137[up[0]] || hashedColour(c);
  }
  if (sys.startsWith('GBT21010') || sys.includes('GTKJ') || sys.includes('YDYH')) {
    return TWO_DIGIT[c.slice(0, 2)] || hashedColour(c);
  }
  return hashedColour(`${sys}:${c}`);
}

export const sourceId = (layer) => `bp-${layer.id}`;
const styleIds = (layer) => [`${layer.id}-fill`, `${layer.id}-line`, `${layer.id}-circle`, `${layer.id}-label`];

/** The legend swatch of a layer: plan layers show a few class colours. */
export function swatchColour(layer) {
  if (layer.role === 'urban_plan' || layer.role === 'landuse_plan') {
    return 'linear-gradient(90deg, #f3d36b 0 33%, #e35d5d 33% 66%, #6fbf73 66%)';
  }
  return layerColour(layer);
}

/** Non-plan polygons are tints over the plans; a development boundary is an outline only. */
function fillOpacity(layer) {
  if (layer.role === 'control_line') return layer.title.includes('开发边界') ? 0 : 0.2;
  return 0.12;
}

/** The style layers drawing one blueprint layer. */
function styleLayers(layer) {
  const src = sourceId(layer);
  const common = { source: src, 'source-layer': layer.id, metadata: { 'lantu:layer': layer.id } };
  const visibility = initiallyVisible(layer) ? 'visible' : 'none';
  const colour = layerColour(layer);
  const out = [];
  if (layer.kind === 'polygon') {
    const plan = layer.role === 'urban_plan' || layer.role === 'landuse_plan';
    if (layer.role !== 'boundary') {
      out.push({
        id: `${layer.id}-fill`, type: 'fill', ...common, layout: { visibility },
        paint: {
          'fill-color': plan ? '#dddddd' : colour,
          'fill-opacity': plan ? (layer.role === 'urban_plan' ? 0.7 : 0.55) : fillOpacity(layer),
        },
      });
    }
    out.push({
      id: `${layer.id}-line`, type: 'line', ...common, layout: { visibility },
      paint: plan
        ? { 'line-color': '#ffffff', 'line-width': 0.6, 'line-opacity': 0.8 }
        : {
          'line-color': colour,
          'line-width': layer.role === 'boundary' ? 1.6 : 2,
          ...(layer.role === 'boundary' || layer.role === 'assessment' ? { 'line-dasharray': [3, 2] } : {}),
        },
    });
    if (plan) {
      out.push({
        id: `${layer.id}-label`, type: 'symbol', ...common, minzoom: 15,
        layout: {
          visibility,
          'text-field': ['coalesce', ['get', 'class_name'], ['get', 'class'], ''],
          'text-size': 11,
        },
        paint: { 'text-color': '#263238', 'text-halo-color': '#ffffff', 'text-halo-width': 1.5 },
      });
    }
  } else if (layer.kind === 'line') {
    out.push({
      id: `${layer.id}-line`, type: 'line', ...common, layout: { visibility, 'line-cap': 'round' },
      paint: { 'line-color': colour, 'line-width': ['interpolate', ['linear'], ['zoom'], 10, 1, 16, 3] },
    });
  } else {
    out.push({
      id: `${layer.id}-circle`, type: 'circle', ...common, layout: { visibility },
      paint: {
        'circle-color': colour,
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 3, 16, 6],
        'circle-stroke-color': '#ffffff',
        'circle-stroke-width': 1,
      },
    });
  }
  return out;
}

/** The MapLibre style of a blueprint: no basemap, no glyph server, no sprite. */
export function blueprintStyle(bp, origin) {
  const sources = {};
  const layers = [{ id: 'background', type: 'background', paint: { 'background-color': '#f5f3ee' } }];
  const ordered = [...bp.layers].sort((a, b) => {
    const ra = ROLE_ORDER.indexOf(a.role), rb = ROLE_ORDER.indexOf(b.role);
    const ka = a.kind === 'point' ? 2 : a.kind === 'line' ? 1 : 0;
    const kb = b.kind === 'point' ? 2 : b.kind === 'line' ? 1 : 0;
    return ka - kb || ra - rb;
  });
  for (const l of ordered) {
    sources[sourceId(l)] = {
      type: 'vector',
      tiles: [`${origin}/tiles/${encodeURIComponent(l.id)}/{z}/{x}/{y}.pbf`],
      minzoom: 0,
      maxzoom: 18,
      ...(l.bbox ? { bounds: l.bbox } : {}),
    };
    layers.push(...styleLayers(l));
  }
  sources.conflicts = {
    type: 'vector',
    tiles: [`${origin}/tiles/conflicts/{z}/{x}/{y}.pbf`],
    minzoom: 0,
    maxzoom: 18,
  };
  layers.push(
    {
      id: 'conflicts-fill', type: 'fill', source: 'conflicts', 'source-layer': 'conflicts',
      layout: { visibility: 'none' },
      paint: {
        'fill-color': ['match', ['get', 'state'], '已处理', '#9e9e9e', '#e53935'],
        'fill-opacity': 0.45,
      },
    },
    {
      id: 'conflicts-line', type: 'line', source: 'conflicts', 'source-layer': 'conflicts',
      layout: { visibility: 'none' },
      paint: { 'line-color': '#b71c1c', 'line-width': 1.2 },
    },
  );
  // One label per administrative unit (tiles would repeat it in every tile it crosses).
  sources.labels = { type: 'geojson', data: { type: 'FeatureCollection', features: [] } };
  layers.push({
    id: 'boundary-labels', type: 'symbol', source: 'labels',
    layout: { 'text-field': ['get', 'name'], 'text-size': 15, 'text-allow-overlap': false },
    paint: { 'text-color': '#263238', 'text-halo-color': '#ffffff', 'text-halo-width': 2 },
  });
  sources.highlight = { type: 'geojson', data: { type: 'FeatureCollection', features: [] } };
  layers.push(
    { id: 'highlight-fill', type: 'fill', source: 'highlight', paint: { 'fill-color': '#00bcd4', 'fill-opacity': 0.25 } },
    { id: 'highlight-line', type: 'line', source: 'highlight', paint: { 'line-color': '#006064', 'line-width': 3 } },
  );
  return { version: 8, name: bp.name, sources, layers };
}

/** Style layer ids of a blueprint layer that exist in the map. */
export function layerStyleIds(map, layer) {
  return styleIds(layer).filter((id) => map.getLayer(id));
}

/**
 * Classes seen so far per plan layer: code → name. Tiles only carry what is in view, so the
 * legend grows as the map is explored.
 */
export class ClassRegistry {
  constructor(bp) {
    this.layers = bp.layers.filter((l) => (l.role === 'urban_plan' || l.role === 'landuse_plan') && l.kind === 'polygon');
    this.classes = new Map(this.layers.map((l) => [l.id, new Map()]));
  }

  /** Reads the loaded tiles; returns the ids of layers that gained classes. */
  collect(map) {
    const changed = [];
    for (const l of this.layers) {
      if (!map.getSource(sourceId(l))) continue;
      const known = this.classes.get(l.id);
      const before = known.size;
      for (const f of map.querySourceFeatures(sourceId(l), { sourceLayer: l.id })) {
        const code = f.properties.class;
        if (code === undefined || code === null || code === '') continue;
        if (!known.has(String(code))) known.set(String(code), f.properties.class_name || '');
      }
      if (known.size !== before) changed.push(l.id);
    }
    return changed;
  }

  /** Sorted [code, name, colour] of a layer. */
  entries(layer) {
    const known = this.classes.get(layer.id) || new Map();
    return [...known.entries()]
      .sort((a, b) => a[0].localeCompare(b[0], 'zh-CN'))
      .map(([code, name]) => [code, name, classColour(layer.class_system, code)]);
  }

  /** Re-colours a plan layer's fill by its classes. */
  apply(map, layer) {
    const entries = this.entries(layer);
    if (!entries.length || !map.getLayer(`${layer.id}-fill`)) return;
    const expr = ['match', ['to-string', ['get', 'class']]];
    for (const [code, , colour] of entries) expr.push(code, colour);
    expr.push('#dddddd');
    map.setPaintProperty(`${layer.id}-fill`, 'fill-color', expr);
  }
}
