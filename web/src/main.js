// 蓝图 web map: loads the active blueprint, builds the map and the three views, and keeps the
// login (an API key in localStorage) and the role-dependent actions in step.

import 'maplibre-gl/dist/maplibre-gl.css';
import './style.css';
import { ApiError, PERMS, ROLE_NAMES, api, failure, getKey, setKey, whoami } from './api.js';
import { ConflictPanel } from './conflicts.js';
import { boundaryLabels, buildLegend, createMap, enablePopups, highlightedGeometry } from './map.js';
import { ReconcilePanel } from './reconcile.js';
import { SitePanel } from './site.js';
import { $, $$, h, toast } from './util.js';

const state = {
  role: 'viewer',
  name: '',
  can(perm) {
    return (PERMS[this.role] || []).includes(perm);
  },
  /** Hides what the role may not do (the server refuses it anyway). */
  applyPermissions(root = document) {
    for (const e of $$('[data-perm]', root)) e.hidden = !this.can(e.dataset.perm);
    for (const e of $$('[data-perm-hint]', root)) e.hidden = this.can(e.dataset.permHint);
  },
  showTab(name) {
    for (const b of $$('#tabs button')) b.classList.toggle('active', b.dataset.tab === name);
    for (const t of $$('.tab')) t.classList.toggle('active', t.id === `tab-${name}`);
    document.body.dataset.tab = name;
    this.onTab?.(name);
  },
};

async function login() {
  const who = $('#whoami');
  try {
    const me = await whoami();
    state.role = me.role;
    state.name = me.name;
    who.textContent = getKey()
      ? `${ROLE_NAMES[me.role] || me.role}${me.name ? ` ${me.name}` : ''}`
      : '访客（只读）';
    who.dataset.role = me.role;
  } catch (err) {
    // A refused key would make every later request fail too: forget it, read as a viewer.
    if (err instanceof ApiError && err.status === 401) setKey('');
    state.role = 'viewer';
    who.textContent = failure(err, '登录失败');
    who.dataset.role = 'none';
  }
  $('#logout').hidden = !getKey();
  state.applyPermissions();
}

async function main() {
  $('#login').addEventListener('submit', async (e) => {
    e.preventDefault();
    setKey($('#key').value.trim());
    $('#key').value = '';
    await login();
    toast(`当前身份：${$('#whoami').textContent}`);
  });
  $('#logout').addEventListener('click', async () => {
    setKey('');
    await login();
  });
  for (const b of $$('#tabs button')) b.addEventListener('click', () => state.showTab(b.dataset.tab));

  await login();
  let bp;
  try {
    bp = await api('/api/blueprint');
  } catch (err) {
    $('#bp-label').textContent = failure(err, '蓝图加载失败');
    return;
  }
  $('#bp-label').textContent = `${bp.name} 第 ${bp.version} 版${bp.district ? ` · 行政区划 ${bp.district}` : ''} · ${bp.crs}`;
  document.title = `蓝图 · ${bp.name}`;
  const crsList = $('#crs-list');
  for (const [v, label] of [[bp.crs, '蓝图坐标系'], ['EPSG:4490', 'CGCS2000 经纬度'], ['EPSG:4326', 'WGS84 经纬度'], ['GCJ02', '火星坐标（GCJ-02）']]) {
    crsList.append(h('option', { value: v }, label));
  }

  const map = createMap('map', bp);
  const ready = new Promise((resolve) => map.once('load', resolve));
  map.on('error', (e) => console.warn('map:', e.error?.message || e));
  await ready;
  buildLegend(map, bp, $('#layer-list'));
  boundaryLabels(map, bp);

  const sites = new SitePanel(map, bp, state);
  const conflicts = new ConflictPanel(map, bp, state);
  const reconcile = new ReconcilePanel(map, state, conflicts);
  enablePopups(map, bp, {
    isDrawing: () => sites.drawing(),
    onConflict: (id) => {
      state.showTab('conflicts');
      conflicts.show(id);
    },
  });
  let loaded = { conflicts: false, reconcile: false };
  state.onTab = (name) => {
    if (name === 'conflicts' && !loaded.conflicts) {
      loaded.conflicts = true;
      conflicts.refresh();
    }
    if (name === 'reconcile' && !loaded.reconcile) {
      loaded.reconcile = true;
      reconcile.refresh();
    }
  };
  state.applyPermissions();
  // The page's state for tests and the console: the map and the views.
  window.lantu = { map, bp, state, sites, conflicts, reconcile, highlighted: highlightedGeometry, ready: true };
  document.body.dataset.ready = 'true';
}

main().catch((err) => {
  console.error(err);
  toast(failure(err, '页面加载失败'), 'error');
});
