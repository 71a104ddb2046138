// The studies: each with its state, progress, trials per state and best value. Refreshed every
// 2 s while shown (studies change at trial boundaries, which the list shows as they come).

import { api } from '../api.js';
import { fill, h, setText } from '../dom.js';
import * as fmt from '../format.js';
import { describe } from '../notices.js';

export function studyState(state) {
  const cls = { RUNNING: 'running', STOPPED: 'stopped', COMPLETE: 'ready', BROKEN: 'failed' }[state] || 'ready';
  return h('span', { class: ['badge', `state-${cls}`], text: state.toLowerCase() });
}

export function mount(ctx) {
  const count = h('span', { class: 'count' });
  const tbody = h('tbody');
  const empty = h('p', { class: 'empty-note', hidden: true },
    'No studies yet. Create one with POST /api/v1/studies or tarsctl study create (see docs/studies.md).');
  const error = h('p', { class: 'form-error', hidden: true });
  ctx.main.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Studies ', count)),
    h('div', { class: 'table-wrap' },
      h('table', { class: 'table studies' },
        h('caption', { class: 'visually-hidden', text: 'AutoML studies' }),
        h('thead', {}, h('tr', {},
          h('th', { text: 'Study' }),
          h('th', { class: 'opt', text: 'Agent · env' }),
          h('th', { text: 'State' }),
          h('th', { class: 'num', text: 'Progress' }),
          h('th', { class: 'num opt', text: 'Running / complete / pruned / failed' }),
          h('th', { class: 'num', text: 'Best value' }),
          h('th', { class: 'num opt', text: 'Trials/hour' }))),
        tbody)),
    empty, error);

  async function load() {
    try {
      const list = (await api('/studies')).studies;
      if (ctx.signal.aborted) return;
      error.hidden = true;
      fill(tbody, list.map((s) => {
        const t = s.trials;
        return h('tr', { dataset: { id: String(s.id) } },
          h('td', {}, h('a', { class: 'id', href: `#/studies/${s.id}`, text: s.name })),
          h('td', { class: 'opt', text: s.agent ? `${s.agent}` : 'external (ask and tell)' }),
          h('td', {}, studyState(s.state)),
          h('td', { class: 'num', text: s.progress === null ? `${fmt.int(t.total)} trials`
            : `${Math.round(100 * s.progress)} %` }),
          h('td', { class: 'num opt', text: `${t.running} / ${t.complete} / ${t.pruned} / ${t.failed}` }),
          h('td', { class: 'num', text: fmt.num(s.best_value) }),
          h('td', { class: 'num opt', text: fmt.num(s.trials_per_hour, 3) }));
      }));
      setText(count, list.length ? String(list.length) : '');
      empty.hidden = list.length > 0;
    } catch (e) {
      if (ctx.signal.aborted) return;
      error.hidden = false;
      setText(error, `The studies could not be listed: ${describe(e)}`);
    }
  }
  load();
  const timer = setInterval(load, 2000);
  ctx.signal.addEventListener('abort', () => clearInterval(timer));
}
