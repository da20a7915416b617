// 差异图斑: the conflict ledger, filtered by type, town and state, shown on the map, and moved
// through the coordination lifecycle.

import { api, failure } from './api.js';
import { highlight, reloadConflicts, setConflictsVisible } from './map.js';
import { $, geometryBounds, h, m2, mu, toast } from './util.js';

/** The lifecycle, in order (reconcile/ledger.rs `STATES`). */
export const STATES = ['待核实', '区级意见', '领导小组审议', '市级审定', '已处理'];

const PRESENCE = { present: '现存', disappeared: '已消失', superseded: '已替代' };
const CHANGE = { appeared: '新增', unchanged: '未变', changed: '变化', reappeared: '再现', disappeared: '消失' };
const PAGE = 50;

export class ConflictPanel {
  constructor(map, bp, state) {
    this.map = map;
    this.state = state;
    this.titles = new Map(bp.layers.map((l) => [l.id, l.title]));
    this.offset = 0;
    /** rule id → display name (from the newest finished run's summary, else type and category). */
    this.ruleNames = new Map();
    $('#conflict-filter').addEventListener('submit', (e) => {
      e.preventDefault();
      this.offset = 0;
      this.load();
    });
    $('#conflict-prev').addEventListener('click', () => {
      this.offset = Math.max(0, this.offset - PAGE);
      this.load();
    });
    $('#conflict-next').addEventListener('click', () => {
      this.offset += PAGE;
      this.load();
    });
  }

  /** Names of rules from a finished run's summary. */
  learnRules(summary) {
    for (const r of summary.rules || []) this.ruleNames.set(r.id, r.name);
  }

  /**
   * Rule names from the newest finished run of this server process (the API lists no rules);
   * without one, parcels are labelled by their type and category.
   */
  async loadRuleNames() {
    if (this.ruleNames.size) return;
    try {
      const done = (await api('/api/reconcile')).find((r) => r.state === 'done');
      if (done) this.learnRules(await api(`/api/reconcile/${encodeURIComponent(done.id)}/summary`));
    } catch { /* labels fall back to type and category */ }
  }

  ruleLabel(rec) {
    return this.ruleNames.get(rec.rule_id) || `${rec.diff_type} ${rec.category}`.trim() || rec.rule_id;
  }

  /**
   * Fills the type and town filters from the ledger itself (the API has no list of rules or
   * towns), keeping the current selection.
   */
  async facets() {
    const page = await api('/api/conflicts?presence=present&limit=5000');
    const rules = new Map();
    const towns = new Map();
    for (const r of page.items) {
      rules.set(r.rule_id, this.ruleLabel(r));
      if (r.town || r.town_code) towns.set(r.town_code || r.town, r.town || r.town_code);
    }
    fill($('#f-rule'), '全部类型', [...rules.entries()].sort());
    fill($('#f-town'), '全部镇街', [...towns.entries()].sort());
    fill($('#f-state'), '全部状态', STATES.map((s) => [s, s]));
  }

  async refresh() {
    try {
      await this.loadRuleNames();
      await this.facets();
      await this.load();
    } catch (err) {
      $('#conflict-summary').textContent = failure(err, '读取失败');
    }
  }

  async load() {
    const q = new URLSearchParams({ limit: String(PAGE), offset: String(this.offset) });
    for (const [key, sel] of [['rule', '#f-rule'], ['town', '#f-town'], ['state', '#f-state']]) {
      const v = $(sel).value;
      if (v) q.set(key, v);
    }
    const body = $('#conflict-table tbody');
    try {
      const page = await api(`/api/conflicts?${q}`);
      const total = page.total;
      const area = page.items.reduce((s, r) => s + r.ellipsoidal_area_m2, 0);
      $('#conflict-summary').textContent = total
        ? `共 ${total} 个图斑，本页 ${this.offset + 1}–${this.offset + page.items.length}，本页面积 ${m2(area)} m²`
        : '台账中没有符合条件的差异图斑（请先在“规划协调”中运行对账）';
      body.replaceChildren(...page.items.map((r) => h('tr', {
        dataset: { id: r.id },
        class: r.id === this.selected ? 'selected' : '',
        onclick: () => this.show(r.id),
      },
      h('td', {}, h('code', {}, r.id)),
      h('td', { class: 'type', title: r.rule_id }, this.ruleLabel(r)),
      h('td', {}, r.town || r.town_code || '—'),
      h('td', { class: 'num' }, m2(r.ellipsoidal_area_m2)),
      h('td', {}, h('span', { class: `state s${STATES.indexOf(r.state)}` }, r.state)))));
      $('#conflict-prev').disabled = this.offset === 0;
      $('#conflict-next').disabled = this.offset + page.items.length >= total;
      if (total) setConflictsVisible(this.map, true);
    } catch (err) {
      $('#conflict-summary').textContent = failure(err, '读取失败');
    }
  }

  /** One parcel: its record, history and geometry on the map, and the next lifecycle step. */
  async show(id) {
    this.selected = id;
    for (const tr of document.querySelectorAll('#conflict-table tbody tr')) tr.classList.toggle('selected', tr.dataset.id === id);
    const out = $('#conflict-detail');
    out.replaceChildren(h('p', { class: 'busy' }, '读取中……'));
    try {
      const d = await api(`/api/conflicts/${encodeURIComponent(id)}`);
      highlight(this.map, d.geometry, geometryBounds(d.geometry));
      out.replaceChildren(this.detail(d));
      out.scrollIntoView({ block: 'nearest' });
    } catch (err) {
      out.replaceChildren(h('p', { class: 'error' }, failure(err, '读取失败')));
    }
  }

  detail(d) {
    const r = d.record;
    const fields = [
      ['图斑编号', r.id],
      ['差异类型', `${this.ruleLabel(r)}（${r.diff_type}）`],
      ['类别', r.category],
      ['镇街', `${r.town || '—'}${r.town_code ? `（${r.town_code}）` : ''}`],
      ['面积', `${m2(r.ellipsoidal_area_m2)} m²（${mu(r.ellipsoidal_area_m2)} 亩）`],
      ['主体图层', `${this.titles.get(r.subject_layer) || r.subject_layer} ${r.subject_id}${r.subject_class ? ` [${r.subject_class}]` : ''}`],
      ['比对图层', `${this.titles.get(r.other_layer) || r.other_layer} ${r.other_id || ''}${r.other_class ? ` [${r.other_class}]` : ''}`],
      ['状态', r.state],
      ['存续', `${PRESENCE[r.presence] || r.presence}${r.change ? `，${CHANGE[r.change] || r.change}` : ''}`],
      ['标记', r.flags || '—'],
      ['最近运行', r.last_run],
    ];
    const box = h('div', { class: 'conflict-card' },
      h('h3', {}, `差异图斑 ${r.id}`),
      h('table', { class: 'kv' }, fields.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v)))),
      h('h4', {}, '流转记录'),
      d.events.length
        ? h('ol', { class: 'events' }, d.events.map((e) => h('li', {},
          h('time', {}, e.at), ` ${e.actor}：${e.from_state || '—'} → ${e.to_state}`,
          e.comment ? h('div', { class: 'comment' }, `意见：${e.comment}`) : null,
          e.document ? h('div', { class: 'comment' }, `文号：${e.document}`) : null)))
        : h('p', { class: 'meta' }, '尚无流转记录'));

    const next = STATES[STATES.indexOf(r.state) + 1];
    if (next && r.presence === 'present') {
      const form = h('form', { class: 'transition', dataset: { perm: 'transition' } },
        h('h4', {}, `流转至「${next}」`),
        h('label', {}, '意见', h('textarea', { name: 'comment', rows: 2, maxlength: 2000 })),
        h('label', {}, '文号', h('input', { name: 'document', maxlength: 200 })),
        h('button', { type: 'submit', id: 'transition-btn' }, `提交至${next}`),
        h('p', { class: 'result' }));
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const result = form.querySelector('.result');
        try {
          await api(`/api/conflicts/${encodeURIComponent(r.id)}/transition`, {
            method: 'POST',
            json: { to: next, comment: form.comment.value, document: form.document.value },
          });
          toast(`图斑 ${r.id} 已流转至${next}`);
          reloadConflicts(this.map);
          await this.load();
          await this.show(r.id);
        } catch (err) {
          result.className = 'result error';
          result.textContent = failure(err, '提交失败');
        }
      });
      box.append(form, h('p', { class: 'hint', dataset: { permHint: 'transition' } }, '以规划人员或管理员身份登录后可流转图斑。'));
      this.state.applyPermissions(box);
    }
    return box;
  }
}

function fill(select, all, entries) {
  const current = select.value;
  select.replaceChildren(h('option', { value: '' }, all), ...entries.map(([v, label]) => h('option', { value: v }, label)));
  if ([...select.options].some((o) => o.value === current)) select.value = current;
}
