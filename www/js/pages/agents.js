// The agents table: every agent with its live status, steps, steps/s, episodes and mean return.
// It loads the list once, then follows the stream: snapshot, added, removed, status and the
// progress events that come twice a second.

import { api, session } from '../api.js';
import * as actions from '../agents-actions.js';
import { fill, h, setText } from '../dom.js';
import * as fmt from '../format.js';
import { describe } from '../notices.js';
import { stream } from '../stream.js';

export function stateBadge(state, error) {
  return h('span', { class: ['badge', `state-${state}`], text: state, title: error || null });
}

export function mount(ctx) {
  const rows = new Map(); // id -> {tr, cells, actions}
  const count = h('span', { class: 'count' });
  const tbody = h('tbody');
  const empty = h('p', { class: 'empty-note', hidden: true },
    'No agents yet. ', session.can('operator') ? h('a', { href: '#/new', text: 'Create one.' }) : null);
  const operate = session.can('operator');

  ctx.main.append(
    h('div', { class: 'page-head' },
      h('h1', {}, 'Agents ', count),
      operate ? h('a', { class: 'button primary', href: '#/new', text: 'New agent' }) : null),
    h('div', { class: 'table-wrap' },
      h('table', { class: 'table agents' },
        h('thead', {}, h('tr', {},
          h('th', { text: 'Agent' }),
          h('th', { class: 'opt', text: 'Algorithm · env' }),
          h('th', { text: 'Status' }),
          h('th', { class: 'num', text: 'Steps' }),
          h('th', { class: 'num', text: 'Steps/s' }),
          h('th', { class: 'num opt', text: 'Episodes' }),
          h('th', { class: 'num', text: 'Mean return', title: 'Over the last 100 episodes' }),
          operate ? h('th', { class: 'actions', text: 'Actions' }) : null)),
        tbody)),
    empty);

  function upsert(a) {
    let r = rows.get(a.id);
    if (!r) {
      const cells = {
        kind: h('td', { class: 'opt' }),
        state: h('td'),
        steps: h('td', { class: 'num' }),
        sps: h('td', { class: 'num' }),
        episodes: h('td', { class: 'num opt' }),
        mean: h('td', { class: 'num' }),
      };
      const acts = operate ? actions.buttons(a.id, (action, reply) => {
        if (action === 'delete') remove(a.id);
        else if (reply) upsert(reply);
      }, { small: true }) : null;
      const tr = h('tr', { dataset: { id: a.id } },
        h('td', {}, h('a', { class: 'id', href: `#/agents/${a.id}`, text: a.id })),
        cells.kind, cells.state, cells.steps, cells.sps, cells.episodes, cells.mean,
        acts ? h('td', { class: 'actions' }, acts) : null);
      r = { tr, cells, acts, state: null };
      rows.set(a.id, r);
      insertSorted(tr, a.id);
      setText(cells.kind, `${a.agent} · ${a.env}`);
      if (a.study) { // a trial's run: which study and trial it is
        cells.kind.append(' · ', h('a', { href: `#/studies/${a.study.id}`, class: 'study-link',
          text: `study ${a.study.id}, trial ${a.study.trial}` }));
      }
    }
    if (a.state) status(r, a.state, a.error);
    progress(r, a);
    counted();
  }

  function insertSorted(tr, id) {
    const after = [...tbody.children].find((x) => x.dataset.id > id);
    tbody.insertBefore(tr, after || null);
  }

  function status(r, state, error) {
    if (r.state === state) return;
    r.state = state;
    fill(r.cells.state, stateBadge(state, error));
    if (r.acts) r.acts.update(state);
  }

  function progress(r, p) {
    if (p.steps !== undefined) setText(r.cells.steps, fmt.int(p.steps));
    if (p.sps !== undefined) setText(r.cells.sps, r.state === 'running' ? fmt.rate(p.sps) : fmt.dash);
    if (p.episodes !== undefined) setText(r.cells.episodes, fmt.int(p.episodes));
    if (p.mean_return !== undefined) setText(r.cells.mean, fmt.num(p.mean_return));
  }

  function remove(id) {
    const r = rows.get(id);
    if (r) r.tr.remove();
    rows.delete(id);
    counted();
  }

  function counted() {
    setText(count, rows.size ? String(rows.size) : '');
    empty.hidden = rows.size > 0;
  }

  function onBatch(batch) {
    for (const ev of batch.events) {
      switch (ev.type) {
        case 'snapshot':
          for (const id of [...rows.keys()]) if (!ev.agents.some((a) => a.id === id)) remove(id);
          ev.agents.forEach(upsert);
          break;
        case 'added':
          upsert(ev.agent);
          break;
        case 'removed':
          remove(ev.agent);
          break;
        case 'status': {
          const r = rows.get(ev.agent);
          if (r) status(r, ev.state, ev.error);
          break;
        }
        case 'progress': {
          const r = rows.get(ev.agent);
          if (r) progress(r, ev);
          break;
        }
        default:
      }
    }
  }

  // Events that arrive before the list are applied after it, so none is lost or undone.
  let pending = [];
  const unsubscribe = stream.subscribe((b) => (pending ? pending.push(b) : onBatch(b)));
  ctx.signal.addEventListener('abort', unsubscribe);
  stream.filter([]);

  api('/agents').then((list) => {
    if (ctx.signal.aborted) return;
    list.agents.forEach(upsert);
    counted();
    const queued = pending;
    pending = null;
    queued.forEach(onBatch);
  }, (e) => {
    if (ctx.signal.aborted) return;
    pending = null;
    ctx.main.append(h('p', { class: 'form-error', text: `The agents could not be listed: ${describe(e)}` }));
  });
}
