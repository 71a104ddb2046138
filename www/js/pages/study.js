// One study: what it searches and how far it is, its trials' values over their number (coloured
// by state, with the best so far), the pruner's view (each trial's intermediate values), the
// parameters' importance, parallel coordinates, the Pareto front of two objectives, and the
// trials table (sortable, filtered by state). The server thins what it sends (GET .../view), so
// a study of 10,000 trials draws as fast as one of a hundred. Refreshed every 3 s while shown.

import { api, session } from '../api.js';
import { fill, h, setText } from '../dom.js';
import * as fmt from '../format.js';
import { describe, notify } from '../notices.js';
import { studyState } from './studies.js';

const Chart = window.Chart;
const STATE_COLORS = { COMPLETE: '#2f6f9f', PRUNED: '#c26a2e', FAILED: '#b8475a', RUNNING: '#3b8a5a' };
const GREY = '#c3cad3';

function chartCard(title, label) {
  const canvas = h('canvas', { role: 'img', 'aria-label': label });
  const note = h('p', { class: 'chart-note' });
  return { canvas, note, el: h('section', { class: 'card' },
    h('div', { class: 'card-head' }, h('h2', { text: title })),
    h('div', { class: 'chart' }, canvas), note) };
}

function scatter(canvas, xTitle, yTitle, extra = {}) {
  return new Chart(canvas, {
    type: 'scatter',
    data: { datasets: [] },
    options: {
      parsing: false, responsive: true, maintainAspectRatio: false,
      plugins: { legend: { position: 'bottom', labels: { boxWidth: 10 } } },
      scales: { x: { title: { display: true, text: xTitle } }, y: { title: { display: true, text: yTitle } } },
      ...extra,
    },
  });
}

export function mount(ctx, id) {
  const operate = session.can('operator');
  const head = h('div', { class: 'page-head' });
  const facts = h('dl', { class: 'kv' });
  const error = h('p', { class: 'form-error', hidden: true });
  const values = chartCard('Trial values', 'Each trial\'s value over its number, coloured by state, with the best so far');
  const inter = chartCard('Intermediate values', 'Each trial\'s evaluations over its steps (the pruner\'s view)');
  const imp = chartCard('Parameter importance', 'The share of the objective\'s variance each parameter explains');
  const par = chartCard('Parallel coordinates', 'Completed trials across the parameters, coloured by value');
  const pareto = chartCard('Pareto front', 'Completed trials on the two objectives; the front in colour, dominated trials grey');
  pareto.el.hidden = true;
  imp.note.textContent = 'Correlation ratio η² of the objective on each parameter (bins of equal counts), normalised; see docs/studies.md.';
  const stateFilter = h('select', { 'aria-label': 'Filter the trials by state' },
    ['all', 'RUNNING', 'COMPLETE', 'PRUNED', 'FAILED'].map((s) => h('option', { value: s, text: s === 'all' ? 'All states' : s })));
  const tbody = h('tbody');
  const theadRow = h('tr');
  const tableNote = h('p', { class: 'muted small' });
  ctx.main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/studies', text: 'Studies' }), ' / ', id),
    head, error,
    h('section', { class: 'card' }, facts),
    h('div', { class: 'charts' }, values.el, inter.el, imp.el, par.el, pareto.el),
    h('section', { class: 'card' },
      h('div', { class: 'card-head' }, h('h2', { text: 'Trials' }), stateFilter),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table trials' },
        h('caption', { class: 'visually-hidden', text: 'The study\'s trials' }),
        h('thead', {}, theadRow), tbody)),
      tableNote));

  const charts = {
    values: scatter(values.canvas, 'trial', 'value'),
    inter: new Chart(inter.canvas, { type: 'line', data: { datasets: [] }, options: {
      parsing: false, responsive: true, maintainAspectRatio: false, spanGaps: true,
      plugins: { legend: { display: false } },
      scales: { x: { type: 'linear', title: { display: true, text: 'step' } }, y: { title: { display: true, text: 'value' } } } } }),
    imp: new Chart(imp.canvas, { type: 'bar', data: { labels: [], datasets: [] }, options: {
      indexAxis: 'y', responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } },
      scales: { x: { min: 0, max: 1 } } } }),
    par: new Chart(par.canvas, { type: 'line', data: { labels: [], datasets: [] }, options: {
      responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false }, tooltip: { enabled: false } },
      scales: { y: { min: 0, max: 1, title: { display: true, text: 'position in its range' } } } } }),
    pareto: scatter(pareto.canvas, 'objective 1', 'objective 2'),
  };
  ctx.signal.addEventListener('abort', () => Object.values(charts).forEach((c) => c.destroy()));

  let sortKey = 'number';
  let sortDir = 1;
  let trials = [];
  let space = [];

  function header() {
    const cols = [['number', '#'], ['state', 'State'], ['value', 'Value'], ['last_step', 'Last step'],
      ...space.map((d) => [`p:${d.name}`, d.name])];
    fill(theadRow, cols.map(([key, text]) => h('th', {
      class: key === 'state' ? null : 'num',
      'aria-sort': key === sortKey ? (sortDir > 0 ? 'ascending' : 'descending') : 'none',
    }, h('button', { class: 'link sort', type: 'button', text: key === sortKey ? `${text} ${sortDir > 0 ? '▲' : '▼'}` : text,
      onclick: () => { sortDir = key === sortKey ? -sortDir : 1; sortKey = key; header(); rows(); } }))));
  }

  function cell(t, key) {
    if (key.startsWith('p:')) return t.params[key.slice(2)];
    return t[key];
  }

  function rows() {
    const sorted = [...trials].sort((a, b) => {
      const x = cell(a, sortKey), y = cell(b, sortKey);
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * sortDir;
    });
    fill(tbody, sorted.map((t) => h('tr', {},
      h('td', { class: 'num', text: String(t.number) }),
      h('td', {}, h('span', { class: ['badge', `trial-${t.state.toLowerCase()}`], text: t.state.toLowerCase() })),
      h('td', { class: 'num', text: fmt.num(t.value, 6) }),
      h('td', { class: 'num', text: t.last_step === null ? fmt.dash : fmt.int(t.last_step) }),
      space.map((d) => h('td', { class: 'num', text: typeof t.params[d.name] === 'number' ? fmt.num(t.params[d.name], 4) : String(t.params[d.name]) })))));
  }

  async function loadTrials() {
    const state = stateFilter.value === 'all' ? '' : `&state=${stateFilter.value}`;
    const r = await api(`/studies/${id}/trials?limit=500${state}`);
    if (ctx.signal.aborted) return;
    trials = r.trials;
    setText(tableNote, r.next !== null ? `The first 500 of ${fmt.int(r.total)} trials (tarsctl study trials pages through all).` : '');
    rows();
  }
  stateFilter.addEventListener('change', () => loadTrials().catch(() => {}));

  function drawValues(v) {
    const byState = {};
    for (const [n, state, value] of v.points) {
      if (value === null) continue;
      (byState[state] ||= []).push({ x: n, y: value });
    }
    charts.values.data.datasets = [
      ...Object.entries(byState).map(([state, data]) => ({ label: state.toLowerCase(), data, backgroundColor: STATE_COLORS[state], borderColor: STATE_COLORS[state], pointRadius: 2.5 })),
      { type: 'line', label: 'best so far', data: v.points.filter((p) => p[3] !== null).map((p) => ({ x: p[0], y: p[3] })),
        borderColor: '#1d2430', backgroundColor: '#1d2430', borderWidth: 1.5, pointRadius: 0, stepped: true },
    ];
    charts.values.update();
    const shown = v.points.length;
    values.note.textContent = `${fmt.int(shown)} of ${fmt.int(v.study.trials.total)} trials shown` +
      (shown < v.study.trials.total ? ' (every improvement of the best, and an even sample of the rest)' : '') +
      `; best ${fmt.num(v.study.best_value, 6)} at trial ${v.study.best_trial ?? fmt.dash}.`;
  }

  function drawIntermediate(v) {
    charts.inter.data.datasets = v.curves.map((c) => ({
      label: `trial ${c.number}`, data: c.points.map(([x, y]) => ({ x, y })),
      borderColor: c.state === 'PRUNED' ? GREY : STATE_COLORS[c.state] || GREY, borderWidth: 1, pointRadius: 1.5,
    }));
    charts.inter.update();
    inter.note.textContent = v.curves.length ? `The newest ${v.curves.length} trials that reported; pruned ones grey.` : 'No trial has reported yet.';
  }

  function drawImportance(v) {
    const entries = Object.entries(v.importance).sort((a, b) => b[1] - a[1]);
    charts.imp.data.labels = entries.map((e) => e[0]);
    charts.imp.data.datasets = [{ data: entries.map((e) => e[1]), backgroundColor: '#2f6f9f' }];
    charts.imp.update();
  }

  function position(d, x) {
    if (d.type === 'enum') return d.choices.length > 1 ? d.choices.indexOf(x) / (d.choices.length - 1) : 0.5;
    if (d.type === 'bool') return x ? 1 : 0;
    const log = d.log && d.min > 0;
    const f = (u) => (log ? Math.log(u) : u);
    return d.max > d.min ? (f(x) - f(d.min)) / (f(d.max) - f(d.min)) : 0.5;
  }

  function drawParallel(v) {
    const vals = v.completed.map((t) => t.values[0]).filter(Number.isFinite);
    const lo = Math.min(...vals), hi = Math.max(...vals);
    const good = v.directions[0] === 'maximize';
    charts.par.data.labels = space.map((d) => d.name);
    charts.par.data.datasets = v.completed.map((t) => {
      const q = hi > lo ? (t.values[0] - lo) / (hi - lo) : 0.5;
      const k = good ? q : 1 - q; // 1: the best
      return { data: space.map((d) => position(d, t.params[d.name])), borderWidth: 1, pointRadius: 0,
        borderColor: `rgba(${Math.round(200 - 153 * k)}, ${Math.round(120 - 9 * k)}, ${Math.round(80 + 79 * k)}, ${0.25 + 0.6 * k})` };
    });
    charts.par.update();
    par.note.textContent = `${v.completed.length} completed trials; darker blue is better.`;
  }

  function drawPareto(v) {
    pareto.el.hidden = v.directions.length !== 2;
    if (pareto.el.hidden) return;
    const pts = (front) => v.completed.filter((t) => t.front === front).map((t) => ({ x: t.values[0], y: t.values[1] }));
    charts.pareto.data.datasets = [
      { label: 'dominated', data: pts(false), backgroundColor: GREY, pointRadius: 2.5 },
      { label: 'Pareto front', data: pts(true), backgroundColor: '#c26a2e', pointRadius: 3.5 },
    ];
    charts.pareto.options.scales.x.title.text = `objective 1 (${v.directions[0]})`;
    charts.pareto.options.scales.y.title.text = `objective 2 (${v.directions[1]})`;
    charts.pareto.update();
  }

  function drawHead(s) {
    document.title = `${s.name} · studies · tars`;
    const spec = s.spec;
    const acts = [];
    if (operate && (s.state === 'RUNNING' || s.state === 'STOPPED')) {
      const verb = s.state === 'RUNNING' ? 'stop' : 'resume';
      acts.push(h('button', { class: 'button', type: 'button', text: verb === 'stop' ? 'Stop' : 'Resume',
        onclick: async () => {
          try { await api(`/studies/${id}/${verb}`, { method: 'POST' }); load(); } catch (e) { notify(describe(e), 'error'); }
        } }));
    }
    fill(head, h('h1', {}, `${s.name} `, studyState(s.state)), h('div', { class: 'row-actions' }, acts));
    const t = s.trials;
    fill(facts,
      h('dt', { text: 'Searches' }), h('dd', { text: spec.agent ? `${spec.agent} on ${spec.env}, ${fmt.int(spec.budget)} steps a trial, evaluated every ${fmt.int(spec.eval_every)}` : 'an objective computed by a client (ask and tell)' }),
      h('dt', { text: 'Tuners' }), h('dd', { text: `sampler ${spec.sampler.name}, pruner ${spec.pruner && spec.pruner.name ? spec.pruner.name : 'none'}` }),
      h('dt', { text: 'Trials' }), h('dd', { text: `${fmt.int(t.total)}${s.n_trials ? ` of ${fmt.int(s.n_trials)}` : ''}: ${t.running} running, ${t.complete} complete, ${t.pruned} pruned, ${t.failed} failed` }),
      h('dt', { text: 'Best value' }), h('dd', { text: `${fmt.num(s.best_value, 6)}${s.best_trial !== null ? ` (trial ${s.best_trial})` : ''}` }),
      h('dt', { text: 'Trials per hour' }), h('dd', { text: fmt.num(s.trials_per_hour, 3) }),
      s.error ? h('dt', { text: 'Error' }) : null, s.error ? h('dd', { class: 'error-text', text: s.error }) : null);
  }

  async function load() {
    try {
      const v = await api(`/studies/${id}/view?points=1000`);
      if (ctx.signal.aborted) return;
      error.hidden = true;
      if (space.length !== v.space.length) {
        space = v.space;
        header();
      }
      drawHead(v.study);
      drawValues(v);
      drawIntermediate(v);
      drawImportance(v);
      drawParallel(v);
      drawPareto(v);
      await loadTrials();
    } catch (e) {
      if (ctx.signal.aborted) return;
      error.hidden = false;
      setText(error, `The study could not be read: ${describe(e)}`);
    }
  }
  load();
  const timer = setInterval(load, 3000);
  ctx.signal.addEventListener('abort', () => clearInterval(timer));
}
