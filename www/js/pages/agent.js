// One agent: live figures, charts of its episodes and training scalars, its parameters with
// their schema (changed in place by operators and admins: param-editor.js), and its
// checkpoints.
//
// The charts are seeded from /history and /scalars, then extended from the stream, which this
// page narrows to the one agent. Events that arrive while the seeds load are queued and
// applied after them, skipping what the seeds already hold (episode numbers and steps only
// grow, except across a reset, which reloads the page).

import { api } from '../api.js';
import * as actions from '../agents-actions.js';
import * as charts from '../charts.js';
import { fill, h, setText } from '../dom.js';
import * as fmt from '../format.js';
import { describe } from '../notices.js';
import { editor } from '../param-editor.js';
import { Rolling, Thinned } from '../series.js';
import { stream } from '../stream.js';
import { stateBadge } from './agents.js';

const HISTORY_TAIL = 5000; // episodes to seed the return chart with
const SCALARS_TAIL = 2000; // scalar records (tarsd keeps about one a second)
const CAP = 1500; // points per dataset
const WINDOW = 100; // episodes in the rolling mean and band

// The scalar charts: which names each one draws, in the order of their colours; names on the
// right-hand axis are read there because they live on another scale.
const SCALAR_CHARTS = [
  { key: 'losses', title: 'Losses', names: ['loss', 'policy_loss', 'actor_loss', 'value_loss', 'critic_loss'],
    right: ['value_loss', 'critic_loss'] },
  { key: 'entropy', title: 'Entropy', names: ['entropy'] },
  { key: 'exploration', title: 'Exploration', names: ['epsilon', 'noise_sigma', 'std'] },
];

// The order of the latest-scalars list (names tarsd does not know go last, by name).
const SCALAR_ORDER = ['loss', 'value_loss', 'policy_loss', 'actor_loss', 'critic_loss', 'entropy',
  'approx_kl', 'clip_fraction', 'clip_range', 'explained_variance', 'grad_norm', 'learning_rate',
  'epsilon', 'noise_sigma', 'std', 'q_mean', 'n_updates', 'update_s', 'update_gflop', 'sticky'];

function card(title, body, extra = {}) {
  return h('section', { class: ['card', extra.class] },
    h('header', { class: 'card-head' }, h('h2', { text: title }), extra.note || null), body);
}

function chartBox(key) {
  const canvas = h('canvas', { dataset: { chart: key } });
  const note = h('p', { class: 'chart-note', hidden: true });
  return { canvas, note, box: h('div', { class: 'chart' }, canvas, note) };
}

// The return chart: each episode's return as a dot, the rolling mean of the last WINDOW
// episodes and a band of ±1 standard deviation around it.
class ReturnChart {
  constructor(box) {
    this.box = box;
    this.thin = new Thinned(4, CAP);
    this.roll = new Rolling(WINDOW);
    this.last = 0;
    const [ret, mean, hi, lo] = this.thin.arrays;
    const blue = charts.colors[0];
    this.chart = charts.line(box.canvas, {
      x: 'count',
      xTitle: 'episode',
      datasets: [
        charts.series('Return', 'rgba(91, 101, 117, 0.45)', { data: ret, showLine: false, pointRadius: 1.5, order: 2 }),
        charts.series(`Mean of ${WINDOW}`, blue, { data: mean, borderWidth: 2, order: 1 }),
        charts.series('+1 std', 'transparent', { data: hi, band: true, fill: '+1', backgroundColor: 'rgba(47, 111, 159, 0.16)', order: 3 }),
        charts.series('-1 std', 'transparent', { data: lo, band: true, order: 3 }),
      ],
    });
    this.empty();
  }

  add(episode, ret) {
    if (episode <= this.last || ret === null || !Number.isFinite(ret)) return;
    this.last = episode;
    this.roll.push(ret);
    const m = this.roll.mean;
    const s = this.roll.std;
    this.thin.push({ x: episode, y: ret }, { x: episode, y: m }, { x: episode, y: m + s }, { x: episode, y: m - s });
  }

  empty() {
    this.box.note.hidden = this.thin.arrays[0].length > 0;
    this.box.note.textContent = 'No finished episode yet.';
  }
}

// A chart of a few scalars against steps; a dataset appears when its scalar first does.
class ScalarChart {
  constructor(box, spec) {
    this.box = box;
    this.spec = spec;
    this.sets = new Map(); // name -> Thinned
    this.last = -Infinity;
    this.chart = charts.line(box.canvas, { x: 'count', xTitle: 'step', datasets: [], y2: !!spec.right });
    this.empty();
  }

  add(step, values) {
    if (step <= this.last) return false;
    let added = false;
    for (const name of this.spec.names) {
      const v = values[name];
      if (v === undefined || v === null) continue;
      let t = this.sets.get(name);
      if (!t) {
        t = new Thinned(1, CAP);
        this.sets.set(name, t);
        const right = (this.spec.right || []).includes(name);
        this.chart.data.datasets.push(charts.series(name, charts.colors[this.spec.names.indexOf(name)],
          { data: t.arrays[0], yAxisID: right ? 'y2' : 'y' }));
      }
      t.push({ x: step, y: v });
      added = true;
    }
    if (added) this.last = step;
    return added;
  }

  empty() {
    const none = this.sets.size === 0;
    this.box.note.hidden = !none;
    this.box.note.textContent = 'Not reported by this agent (yet).';
    this.chart.options.scales.x.display = !none;
    this.chart.options.scales.y.display = !none;
    // A right-hand axis with nothing on it would only show a stray scale.
    if (this.chart.options.scales.y2) {
      this.chart.options.scales.y2.display = [...this.sets.keys()].some((n) => this.spec.right.includes(n));
    }
  }
}

// Steps per second against the time of day.
class RateChart {
  constructor(box) {
    this.box = box;
    this.thin = new Thinned(1, CAP);
    this.last = -Infinity;
    this.chart = charts.line(box.canvas, { x: 'time', xTitle: '', datasets: [
      charts.series('steps/s', charts.colors[2], { data: this.thin.arrays[0], fill: 'origin', backgroundColor: 'rgba(59, 138, 90, 0.10)' }),
    ] });
    this.chart.options.plugins.legend.display = false;
    this.empty();
  }

  add(t, sps) {
    if (t <= this.last || !Number.isFinite(sps)) return;
    this.last = t;
    this.thin.push({ x: t, y: sps });
  }

  empty() {
    this.box.note.hidden = this.thin.arrays[0].length > 0;
    this.box.note.textContent = 'Waiting for the first figures.';
  }
}

export function mount(ctx, id) {
  const { main, signal } = ctx;
  const redraw = new charts.Redraw(400);
  const made = []; // charts to destroy on leaving
  signal.addEventListener('abort', () => {
    redraw.stop();
    made.forEach((c) => c.chart.destroy());
  });

  // What arrives from the stream before the seeds is queued.
  let pending = [];
  let apply = null;
  const unsubscribe = stream.subscribe((b) => (pending ? pending.push(b) : apply(b)));
  signal.addEventListener('abort', unsubscribe);
  stream.filter([id]);

  const head = h('div', { class: 'page-head' });
  const body = h('div', { class: 'agent' }, h('p', { class: 'muted', text: 'Loading…' }));
  main.append(h('nav', { class: 'crumbs' }, h('a', { href: '#/agents', text: 'Agents' }), ' / ', id), head, body);

  const get = (path) => api(`/agents/${encodeURIComponent(id)}${path}`);
  Promise.all([get(''), get('/params'), get(`/history?tail=${HISTORY_TAIL}`),
    get(`/scalars?tail=${SCALARS_TAIL}`), get('/checkpoints')])
    .then(([detail, prm, history, scalars, ckpts]) => {
      if (!signal.aborted) build(detail, prm, history, scalars, ckpts);
    }, (e) => {
      pending = null;
      apply = () => {};
      if (signal.aborted) return;
      fill(body, h('section', { class: 'empty' },
        h('h2', { text: e.status === 404 ? `No agent ${id}` : 'This agent could not be loaded' }),
        h('p', { text: describe(e) }), h('p', {}, h('a', { href: '#/agents', text: 'Back to the agents' }))));
    });

  function build(detail, prm, history, scalars, ckpts) {
    // --- head: name, state, actions
    const badge = h('span');
    const acts = actions.buttons(id, (action, reply) => {
      if (action === 'delete') location.hash = '#/agents';
      else if (action === 'reset') ctx.reload();
      else if (reply) {
        setState(reply.state, reply.error);
        figures(reply);
        if (action === 'stop') refreshCheckpoints(reply.steps);
      }
    }, { before: () => ckptAbort.abort() }); // no list request may outlive a delete
    if (acts.querySelector('[data-action=delete]') && detail.origin === 'config') {
      const del = acts.querySelector('[data-action=delete]');
      del.disabled = true;
      del.title = 'Listed in the config file: remove it there';
    }
    fill(head, h('h1', {}, id, ' ', badge), acts);
    let state = null;
    function setState(s, error) {
      if (s === state) return;
      state = s;
      fill(badge, stateBadge(s, error));
      acts.update(s);
      failure.hidden = s !== 'failed';
      failure.textContent = s === 'failed' ? `Failed: ${error || 'no reason given'}` : '';
    }
    const failure = h('p', { class: 'form-error', hidden: true });

    // --- facts and live figures
    const facts = [
      `${detail.agent} ${detail.agent_version || ''}`.trim() + ' on ' + `${detail.env} ${detail.env_version || ''}`.trim(),
      detail.preset ? `preset ${detail.preset}` : 'no preset',
      `${detail.n_envs} envs`,
      `seed ${detail.seed}`,
      detail.origin ? `from the ${detail.origin}` : null,
      detail.created ? `created ${fmt.time(detail.created)}` : null,
    ].filter(Boolean).join(' · ');
    const stat = (label, title) => {
      const v = h('span', { class: 'stat-value', text: fmt.dash });
      return { v, el: h('div', { class: 'stat', title, dataset: { stat: label } }, h('span', { class: 'stat-label', text: label }), v) };
    };
    const s = {
      steps: stat('Steps'), sps: stat('Steps/s'), episodes: stat('Episodes'),
      mean: stat(`Mean return`, `Over the last ${WINDOW} episodes`), last: stat('Last return'),
      ckpt: stat('Checkpoint', 'Step of the newest checkpoint'),
    };
    // Steps only grow within the stream, except when the agent is reset (from another window,
    // say): then the page starts over. Replies to REST calls are not compared: a batch sent
    // before one may arrive after it.
    let streamSteps = 0;
    function figures(p, fromStream = false) {
      if (p.steps !== undefined) {
        if (fromStream && p.steps < streamSteps) {
          ctx.reload();
          return;
        }
        if (fromStream) streamSteps = p.steps;
        setText(s.steps.v, fmt.int(p.steps));
      }
      if (p.sps !== undefined) setText(s.sps.v, state === 'running' ? fmt.rate(p.sps) : fmt.dash);
      if (p.episodes !== undefined) setText(s.episodes.v, fmt.int(p.episodes));
      if (p.mean_return !== undefined) setText(s.mean.v, fmt.num(p.mean_return));
      if (p.last_return !== undefined) setText(s.last.v, fmt.num(p.last_return));
      if (p.checkpoint_step !== undefined) {
        // A new agent reports its creation time with step 0: nothing is saved before a step.
        const has = p.checkpoint_time && p.checkpoint_step > 0;
        setText(s.ckpt.v, has ? fmt.int(p.checkpoint_step) : 'none yet');
        s.ckpt.el.title = has ? `Written ${fmt.time(p.checkpoint_time)}` : 'None written yet';
      }
    }

    // --- charts
    const boxes = { ret: chartBox('return'), rate: chartBox('rate') };
    for (const c of SCALAR_CHARTS) boxes[c.key] = chartBox(c.key);
    const ret = new ReturnChart(boxes.ret);
    const rate = new RateChart(boxes.rate);
    const scalarCharts = SCALAR_CHARTS.map((c) => new ScalarChart(boxes[c.key], c));
    made.push(ret, rate, ...scalarCharts);

    // --- latest scalars
    const latest = h('dl', { class: 'scalars' });
    const latestCells = new Map();
    const latestStep = h('span', { class: 'muted' });
    function showLatest(step, values) {
      const names = Object.keys(values).filter((n) => !['step', 't', 'seq'].includes(n));
      const rank = (n) => (SCALAR_ORDER.includes(n) ? SCALAR_ORDER.indexOf(n) : 1000);
      names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
      for (const n of names) {
        let dd = latestCells.get(n);
        if (!dd) {
          dd = h('dd');
          latestCells.set(n, dd);
          latest.replaceChildren(...[...latestCells.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
            .map((k) => h('div', {}, h('dt', { text: k }), latestCells.get(k))));
        }
        setText(dd, fmt.num(values[n], 4));
      }
      setText(latestStep, `at step ${fmt.int(step)}`);
    }

    // --- parameters and checkpoints
    const paramCard = editor(id, prm, { agent: detail.agent, env: detail.env }, signal);
    const ckptBox = h('div', { class: 'checkpoints' });
    function showCheckpoints(list) {
      const rows = [...list.checkpoints].reverse();
      fill(ckptBox, rows.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
        h('thead', {}, h('tr', {}, h('th', { class: 'num', text: 'Step' }), h('th', { class: 'num', text: 'Episodes' }),
          h('th', { text: 'Written' }), h('th', { class: 'num', text: 'Size' }))),
        h('tbody', {}, rows.map((c) => h('tr', {},
          h('td', { class: 'num', text: fmt.int(c.step) }), h('td', { class: 'num', text: fmt.int(c.episodes) }),
          h('td', { text: fmt.time(c.time) }), h('td', { class: 'num', text: fmt.bytes(c.bytes) }))))))
        : h('p', { class: 'muted', text: 'No checkpoint yet: tarsd writes one periodically and when the agent stops.' }));
    }
    // After a stop, until the list holds the checkpoint at the step it stopped at: tarsd may
    // answer the stop before that checkpoint is written (right after a start, say).
    let ckptAbort = new AbortController();
    async function refreshCheckpoints(step) {
      ckptAbort.abort();
      const mine = (ckptAbort = new AbortController());
      for (let wait = 250; wait < 8000 && !mine.signal.aborted; wait *= 2) {
        try {
          const c = await api(`/agents/${encodeURIComponent(id)}/checkpoints`, { signal: mine.signal });
          if (signal.aborted || mine.signal.aborted) return;
          showCheckpoints(c);
          const newest = c.checkpoints[c.checkpoints.length - 1];
          if (newest && newest.step >= step) {
            figures({ checkpoint_step: newest.step, checkpoint_time: newest.time });
            return;
          }
        } catch {
          return;
        }
        await new Promise((r) => setTimeout(r, wait));
      }
    }
    signal.addEventListener('abort', () => ckptAbort.abort());

    fill(body,
      failure,
      h('p', { class: 'facts', text: facts }),
      h('div', { class: 'stats' }, Object.values(s).map((x) => x.el)),
      h('div', { class: 'charts' },
        card('Episode return', boxes.ret.box, { class: 'wide' }),
        card('Steps per second', boxes.rate.box),
        ...SCALAR_CHARTS.map((c) => card(c.title, boxes[c.key].box))),
      card('Latest training scalars', latest, { note: latestStep }),
      paramCard.el,
      card('Checkpoints', ckptBox));

    // --- seeds
    setState(detail.state, detail.error);
    figures(detail);
    for (const e of history.episodes) ret.add(e.episode, e.return);
    let prev = null;
    for (const r of scalars.scalars) {
      scalarCharts.forEach((c) => c.add(r.step, r));
      // Between two records the agent made (step - step') steps in (t - t') seconds.
      if (prev && r.t > prev.t && r.step >= prev.step) rate.add(r.t, (r.step - prev.step) / (r.t - prev.t));
      prev = r;
    }
    if (detail.scalars) showLatest(detail.scalars.step, detail.scalars);
    else latest.append(h('p', { class: 'muted', text: 'No training scalars yet.' }));
    showCheckpoints(ckpts);
    made.forEach((c) => { c.empty(); redraw.mark(c.chart, c !== ret); });

    // --- live
    apply = (batch) => {
      for (const ev of batch.events) {
        if (ev.type === 'snapshot') { // after a reconnect: catch up on what was missed
          const a = ev.agents.find((x) => x.id === id);
          if (a) {
            setState(a.state, a.error);
            figures(a);
          }
          continue;
        }
        // added, reset and recreated events carry the agent itself.
        const about = ev.agent && typeof ev.agent === 'object' ? ev.agent.id : ev.agent;
        if (about !== id) continue;
        switch (ev.type) {
          case 'progress':
            figures(ev, true);
            if (state === 'running') rate.add(batch.t, ev.sps);
            rate.empty();
            redraw.mark(rate.chart, true);
            break;
          case 'status':
            setState(ev.state, ev.error);
            break;
          case 'episodes':
            for (let i = 0; i < ev.returns.length; i++) ret.add(ev.first + i, ev.returns[i]);
            ret.empty();
            redraw.mark(ret.chart);
            break;
          case 'scalars':
            for (const c of scalarCharts) {
              if (c.add(ev.step, ev.values)) {
                c.empty();
                redraw.mark(c.chart, true);
              }
            }
            showLatest(ev.step, ev.values);
            break;
          case 'params':
            paramCard.setValues(ev.params, ev.env_params);
            break;
          case 'recreated': // with new values of parameters that are not HOT
            setState(ev.agent.state, ev.agent.error);
            paramCard.setValues(ev.agent.params, ev.agent.env_params);
            break;
          case 'removed':
            fill(body, h('section', { class: 'empty' }, h('h2', { text: `${id} was deleted` }),
              h('p', {}, h('a', { href: '#/agents', text: 'Back to the agents' }))));
            break;
          default:
        }
      }
    };
    const queued = pending;
    pending = null;
    queued.forEach(apply);
  }
}
