// 规划协调: start a reconciliation run, follow its progress rule by rule, cancel it, and read
// its summary when it is done.

import { api, failure } from './api.js';
import { reloadConflicts, setConflictsVisible } from './map.js';
import { $, h, m2, toast } from './util.js';

const STATE_NAMES = { running: '运行中', done: '已完成', failed: '失败', cancelled: '已取消' };
const POLL_MS = 1000;

export class ReconcilePanel {
  constructor(map, state, conflicts) {
    this.map = map;
    this.state = state;
    this.conflicts = conflicts;
    this.current = null;
    this.timer = null;
    $('#reconcile-start').addEventListener('click', () => this.start());
    $('#reconcile-cancel').addEventListener('click', () => this.cancel());
  }

  /** Lists this server's runs and follows one that is still running. */
  async refresh() {
    await this.conflicts.loadRuleNames();
    const runs = await this.refreshList();
    const running = runs.find((r) => r.state === 'running');
    if (running && !this.timer) this.follow(running.id);
  }

  async start() {
    try {
      const job = await api('/api/reconcile', { method: 'POST', json: {} });
      toast(`对账已开始：${job.id}`);
      this.follow(job.id);
    } catch (err) {
      $('#run-status').replaceChildren(h('p', { class: 'error' }, failure(err, '提交失败')));
    }
  }

  async cancel() {
    if (!this.current) return;
    try {
      await api(`/api/reconcile/${encodeURIComponent(this.current)}`, { method: 'DELETE' });
      toast('已请求取消');
    } catch (err) {
      toast(failure(err, '提交失败'), 'error');
    }
  }

  follow(id) {
    this.current = id;
    clearTimeout(this.timer);
    const tick = async () => {
      try {
        const job = await api(`/api/reconcile/${encodeURIComponent(id)}`);
        this.renderJob(job);
        if (job.state === 'running') {
          this.timer = setTimeout(tick, POLL_MS);
          return;
        }
        this.timer = null;
        await this.finished(job);
      } catch (err) {
        this.timer = null;
        $('#run-status').replaceChildren(h('p', { class: 'error' }, failure(err, '读取失败')));
      }
    };
    tick();
  }

  renderJob(job) {
    const rules = Object.entries(job.progress || {});
    const done = rules.reduce((s, [, [d]]) => s + d, 0);
    const total = rules.reduce((s, [, [, t]]) => s + t, 0);
    $('#reconcile-cancel').hidden = job.state !== 'running' || !this.state.can('reconcile');
    $('#run-status').replaceChildren(
      h('p', { class: `job ${job.state}`, dataset: { state: job.state } },
        h('strong', {}, STATE_NAMES[job.state] || job.state), ` ${job.id}`,
        job.pieces !== null && job.pieces !== undefined ? `，差异图斑 ${job.pieces} 个` : '',
        job.error ? `：${job.error}` : ''),
      h('div', { class: 'bar total' }, h('span', { style: `width:${total ? (100 * done) / total : job.state === 'done' ? 100 : 0}%` })),
      h('ul', { class: 'progress' }, rules.map(([rule, [d, t]]) => h('li', {},
        h('span', { class: 'rule' }, this.conflicts.ruleNames.get(rule) || rule),
        h('div', { class: 'bar' }, h('span', { style: `width:${t ? (100 * d) / t : 100}%` })),
        h('small', {}, `${d}/${t}`)))));
  }

  async finished(job) {
    await this.refreshList();
    if (job.state !== 'done') return;
    try {
      const summary = await api(`/api/reconcile/${encodeURIComponent(job.id)}/summary`);
      this.conflicts.learnRules(summary);
      this.renderJob(job);
      $('#run-summary').replaceChildren(
        h('h3', {}, '对账结果'),
        h('table', { class: 'grid' },
          h('thead', {}, h('tr', {}, h('th', {}, '规则'), h('th', {}, '类别'), h('th', {}, '图斑数'), h('th', {}, '面积（m²）'))),
          h('tbody', {}, (summary.rules || []).map((r) => h('tr', {},
            h('td', {}, r.name), h('td', {}, r.category), h('td', { class: 'num' }, String(r.count)),
            h('td', { class: 'num' }, m2(r.ellipsoidal_area_m2)))))),
        summary.ledger ? h('p', { class: 'meta' },
          `台账：新增 ${summary.ledger.appeared ?? 0}，未变 ${summary.ledger.unchanged ?? 0}，变化 ${summary.ledger.changed ?? 0}，消失 ${summary.ledger.disappeared ?? 0}`) : null,
        h('button', { type: 'button', id: 'goto-conflicts', onclick: () => this.state.showTab('conflicts') }, '查看差异图斑'));
    } catch (err) {
      $('#run-summary').replaceChildren(h('p', { class: 'error' }, failure(err, '读取失败')));
    }
    reloadConflicts(this.map);
    setConflictsVisible(this.map, true);
    await this.conflicts.refresh();
  }

  /** The runs of this server process, newest first. */
  async refreshList() {
    try {
      const runs = await api('/api/reconcile');
      $('#run-list').replaceChildren(...runs.map((r) => h('li', {},
        h('a', { href: '#', onclick: (e) => { e.preventDefault(); this.follow(r.id); } }, r.id),
        ` ${STATE_NAMES[r.state] || r.state}，${r.actor}，${r.started_at}`)));
      return runs;
    } catch (err) {
      $('#run-status').replaceChildren(h('p', { class: 'error' }, failure(err, '读取失败')));
      return [];
    }
  }
}
