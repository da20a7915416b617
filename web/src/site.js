// 选址核查: draw a site with terra-draw or upload one, read the verdicts, overlaps, control-line
// warnings and indicators, and issue the 土地资源和技术控制指标清单 in every format.

import { TerraDraw, TerraDrawPolygonMode } from 'terra-draw';
import { TerraDrawMapLibreGLAdapter } from 'terra-draw-maplibre-gl-adapter';
import { api, authHeaders, failure, ApiError } from './api.js';
import { highlight } from './map.js';
import { $, dispositionName, h, m2, metres, mu, pct, saveBlob, toast } from './util.js';

const ROLE_TITLES = {
  urban_plan: '城乡规划',
  landuse_plan: '土地利用总体规划',
  control_line: '控制线',
  sector: '专项规划',
  status: '现状',
  survey: '现状普查',
  boundary: '行政区划',
};

const RULE_NAMES = {
  radius_m: '保护范围半径',
  control_m: '建设控制地带',
  safety_m: '安全防护距离',
  clearance_m: '管线安全间距',
};

const INDICATORS = [
  ['far_min', '容积率下限'],
  ['far_max', '容积率上限'],
  ['density_max', '建筑密度上限'],
  ['green_min', '绿地率下限'],
  ['height_max', '建筑限高（m）'],
];

const FORMATS = [
  ['pdf', 'PDF'],
  ['xlsx', 'XLSX'],
  ['json', 'JSON'],
  ['txt', 'TXT 界址点'],
];

export class SitePanel {
  constructor(map, bp, state) {
    this.map = map;
    this.bp = bp;
    this.state = state;
    /** What the last check was made on, so the checklist is issued for the same site. */
    this.source = null;
    this.finishedAt = 0;
    this.draw = new TerraDraw({
      adapter: new TerraDrawMapLibreGLAdapter({ map }),
      modes: [new TerraDrawPolygonMode({
        styles: {
          fillColor: '#ff6f00',
          fillOpacity: 0.25,
          outlineColor: '#e65100',
          outlineWidth: 3,
          closingPointColor: '#ffffff',
          closingPointOutlineColor: '#e65100',
          closingPointWidth: 6,
          closingPointOutlineWidth: 2,
        },
      })],
    });
    this.draw.start();
    this.draw.on('finish', (id) => this.finished(id));
    this.wire();
  }

  /** True while drawing, and for the click that closed the polygon (no popup for it). */
  drawing() {
    return (this.draw.enabled && this.draw.getMode() === 'polygon') || Date.now() - this.finishedAt < 500;
  }

  wire() {
    $('#draw-btn').addEventListener('click', () => {
      this.draw.clear();
      highlight(this.map, null);
      this.draw.setMode('polygon');
      $('#draw-hint').hidden = false;
      $('#draw-btn').classList.add('active');
    });
    $('#clear-btn').addEventListener('click', () => {
      this.draw.clear();
      this.draw.setMode('static');
      $('#draw-hint').hidden = true;
      $('#draw-btn').classList.remove('active');
      highlight(this.map, null);
      this.source = null;
      $('#verdict').replaceChildren();
      $('#checklist-links').replaceChildren();
    });
    $('#upload-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const file = $('#site-file').files[0];
      if (!file) {
        toast('请选择地块文件（.zip Shapefile、.dxf、.kml、.txt 界址点）', 'error');
        return;
      }
      this.check({ kind: 'file', file, crs: $('#site-crs').value.trim() });
    });
    $('#issue-btn').addEventListener('click', () => this.issue());
  }

  finished(id) {
    this.finishedAt = Date.now();
    const f = this.draw.getSnapshotFeature(id);
    this.draw.setMode('static');
    $('#draw-hint').hidden = true;
    $('#draw-btn').classList.remove('active');
    if (!f || f.geometry.type !== 'Polygon') return;
    const feature = { type: 'Feature', properties: { name: '手绘地块' }, geometry: f.geometry };
    this.check({ kind: 'drawn', feature });
  }

  async check(source) {
    const out = $('#verdict');
    out.replaceChildren(h('p', { class: 'busy' }, '正在核查……'));
    $('#checklist-links').replaceChildren();
    try {
      let res;
      if (source.kind === 'drawn') {
        res = await api('/api/site-check?crs=EPSG:4490', { method: 'POST', json: source.feature });
      } else {
        const form = new FormData();
        form.append('file', source.file, source.file.name);
        if (source.crs) form.append('crs', source.crs);
        res = await api('/api/site-check/upload', { method: 'POST', body: form });
      }
      this.source = source;
      this.render(res);
    } catch (err) {
      out.replaceChildren(h('p', { class: 'error' }, failure(err, '核查失败')));
    }
  }

  render(res) {
    const out = $('#verdict');
    const sites = res.sites || [];
    out.replaceChildren(
      h('p', { class: 'meta' }, `依据：${res.blueprint}；共 ${sites.length} 个地块`),
      ...sites.map((s) => this.siteCard(s)),
    );
  }

  siteCard(site) {
    const a = site.analysis;
    const warnings = site.verdicts.filter((v) => v.status === 'warning').length;
    const card = h('article', { class: 'site-card', dataset: { site: a.site_id } },
      h('h3', {}, a.site_name ? `${a.site_name}（${a.site_id}）` : `地块 ${a.site_id}`),
      h('p', { class: 'meta' }, `面积 ${m2(a.ellipsoidal_area_m2)} m²（${mu(a.ellipsoidal_area_m2)} 亩）`,
        warnings ? h('span', { class: 'badge warn' }, `${warnings} 项需核实`) : h('span', { class: 'badge ok' }, '控制线核查通过')));

    const towns = a.overlaps.filter((o) => o.role === 'boundary' && o.ellipsoidal_area_m2 > 0)
      .flatMap((o) => o.features.map((f) => `${f.fields?.name || f.feature_id}${f.share_of_site < 0.999 ? `（${pct(f.share_of_site)}）` : ''}`));
    if (towns.length) card.append(h('p', { class: 'meta' }, `所在镇街：${towns.join('、')}`));

    card.append(h('h4', {}, '控制线核查'), h('ul', { class: 'verdicts' },
      sortVerdicts(site.verdicts).map((v) => h('li', { class: `verdict ${v.status}`, dataset: { layer: v.layer } },
        h('span', { class: 'icon' }, v.status === 'ok' ? '✓' : v.status === 'warning' ? '⚠' : '?'),
        h('strong', {}, v.title), '：', v.text))));

    const overlaps = a.overlaps.filter((o) => o.role !== 'control_line' && o.role !== 'boundary' && o.ellipsoidal_area_m2 > 0);
    if (overlaps.length) {
      const rows = [];
      for (const o of overlaps) {
        rows.push(h('tr', { class: 'layer-row' },
          h('td', { colspan: 2 }, h('strong', {}, o.title), h('small', {}, ` ${ROLE_TITLES[o.role] || o.role}`)),
          h('td', { class: 'num' }, m2(o.ellipsoidal_area_m2)), h('td', { class: 'num' }, pct(o.share_of_site))));
        for (const c of o.by_class) {
          rows.push(h('tr', {},
            h('td', {}, h('code', {}, c.code)), h('td', {}, c.name || '—'),
            h('td', { class: 'num' }, m2(c.ellipsoidal_area_m2)), h('td', { class: 'num' }, pct(c.share_of_site))));
        }
      }
      card.append(h('h4', {}, '规划叠加分析'), h('table', { class: 'grid' },
        h('thead', {}, h('tr', {}, h('th', {}, '代码'), h('th', {}, '名称'), h('th', {}, '面积（m²）'), h('th', {}, '占地块'))),
        h('tbody', {}, rows)));
    }

    const indicatorRows = [];
    for (const o of a.overlaps.filter((x) => x.role === 'urban_plan')) {
      for (const f of o.features) {
        const values = INDICATORS.map(([k]) => f.fields[k]);
        if (values.every((v) => v === undefined || v === null)) continue;
        indicatorRows.push(h('tr', {},
          h('td', {}, f.feature_id), h('td', {}, f.class_name || f.class_code),
          values.map((v) => h('td', { class: 'num' }, v === undefined || v === null ? '—' : String(v))),
          h('td', { class: 'num' }, pct(f.share_of_site))));
      }
    }
    if (indicatorRows.length) {
      card.append(h('h4', {}, '控制性详细规划指标'), h('table', { class: 'grid' },
        h('thead', {}, h('tr', {}, h('th', {}, '地块编号'), h('th', {}, '用地性质'),
          INDICATORS.map(([, name]) => h('th', {}, name)), h('th', {}, '占地块'))),
        h('tbody', {}, indicatorRows)));
    }

    if (a.proximity.length) {
      card.append(h('h4', {}, '邻近设施与管线'), h('table', { class: 'grid' },
        h('thead', {}, h('tr', {}, h('th', {}, '图层'), h('th', {}, '编号'), h('th', {}, '距离'), h('th', {}, '控制要求'), h('th', {}, '说明'))),
        h('tbody', {}, a.proximity.map((p) => {
          const inside = p.distance_m === 0;
          const note = inside
            ? (p.length_inside_m > 0 ? `穿越地块 ${metres(p.length_inside_m)}` : '位于地块内')
            : p.distance_m < p.limit_m ? '位于控制范围内' : '位于控制范围外';
          return h('tr', { class: inside || p.distance_m < p.limit_m ? 'warn' : '' },
            h('td', {}, p.title), h('td', {}, p.fields?.name ? `${p.feature_id} ${p.fields.name}` : p.feature_id),
            h('td', { class: 'num' }, metres(p.distance_m)),
            h('td', {}, `${RULE_NAMES[p.rule] || p.rule} ${metres(p.limit_m)}`), h('td', {}, note));
        }))));
    }

    if (a.assessments.length) {
      card.append(h('h4', {}, '区域评估'), h('table', { class: 'grid' },
        h('thead', {}, h('tr', {}, h('th', {}, '评估事项'), h('th', {}, '编号'), h('th', {}, '覆盖地块'), h('th', {}, '有效期至'), h('th', {}, '状态'))),
        h('tbody', {}, a.assessments.map((s) => h('tr', { class: s.valid ? '' : 'warn' },
          h('td', {}, s.kind || '—'), h('td', {}, s.feature_id), h('td', { class: 'num' }, pct(s.share_of_site)),
          h('td', {}, s.valid_until || '—'), h('td', {}, s.valid ? '有效' : '已失效'))))));
    }
    card.append(h('p', { class: 'meta small' }, `分析用时 ${(a.micros / 1000).toFixed(1)} ms`));
    return card;
  }

  /** Issues the checklist of the last checked site and offers its formats. */
  async issue() {
    const links = $('#checklist-links');
    if (!this.source) {
      toast('请先绘制或上传地块并完成核查', 'error');
      return;
    }
    const code = $('#project-code').value.trim();
    links.replaceChildren(h('p', { class: 'busy' }, '正在出具清单……'));
    try {
      let issued;
      if (this.source.kind === 'drawn') {
        const q = new URLSearchParams({ crs: 'EPSG:4490' });
        if (code) q.set('project_code', code);
        issued = await api(`/api/checklists?${q}`, { method: 'POST', json: this.source.feature });
      } else {
        const form = new FormData();
        form.append('file', this.source.file, this.source.file.name);
        if (this.source.crs) form.append('crs', this.source.crs);
        if (code) form.append('project_code', code);
        issued = await api('/api/checklists/upload', { method: 'POST', body: form });
      }
      links.replaceChildren(...issued.map((c) => h('div', { class: 'checklist', dataset: { sha: c.sha256 } },
        h('p', {}, `地块 ${c.site_id} 清单已出具，SHA-256：`, h('code', { class: 'sha' }, c.sha256.slice(0, 16)), '…'),
        h('div', { class: 'row' }, FORMATS.map(([fmt, label]) => h('button', {
          type: 'button',
          class: 'download',
          dataset: { format: fmt },
          onclick: () => download(c.links[fmt] || `/api/checklists/${c.sha256}?format=${fmt}`, `checklist-${c.site_id}.${fmt}`),
        }, `下载 ${label}`))))));
    } catch (err) {
      links.replaceChildren(h('p', { class: 'error' }, failure(err, '提交失败')));
    }
  }
}

/** The three control lines (三线) first, then the city lines, each in the server's order. */
function sortVerdicts(verdicts) {
  const rank = (v) => {
    const i = ['基本农田', '生态保护红线', '开发边界'].findIndex((w) => v.title.includes(w));
    return i < 0 ? 3 : i;
  };
  return verdicts.map((v, i) => [v, i]).sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1]).map(([v]) => v);
}

/** Fetches a document with the key and saves it under the server's file name. */
async function download(url, fallback) {
  try {
    const res = await fetch(url, { headers: authHeaders() });
    if (!res.ok) {
      let problem = {};
      try { problem = await res.json(); } catch { /* not a problem document */ }
      throw new ApiError(res.status, problem);
    }
    const blob = await res.blob();
    saveBlob(blob, dispositionName(res.headers.get('content-disposition')) || fallback);
  } catch (err) {
    toast(failure(err, '下载失败'), 'error');
  }
}
