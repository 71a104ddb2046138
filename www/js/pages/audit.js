// The audit log, newest first: every mutating call and every refusal. "Older" pages backwards
// with the API's next_before.

import { api } from '../api.js';
import { h } from '../dom.js';
import * as fmt from '../format.js';
import { describe } from '../notices.js';

const PAGE = 50;

export function mount(ctx) {
  const tbody = h('tbody');
  const more = h('button', { type: 'button', class: 'button', text: 'Older entries', hidden: true });
  const note = h('p', { class: 'muted', hidden: true });
  ctx.main.append(
    h('div', { class: 'page-head' }, h('h1', { text: 'Audit log' })),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table audit' },
      h('thead', {}, h('tr', {},
        h('th', { text: 'Time' }), h('th', { text: 'Who' }), h('th', { class: 'opt', text: 'Address' }),
        h('th', { text: 'Request' }), h('th', { class: 'num', text: 'Status' }), h('th', { text: 'Detail' }))),
      tbody)),
    note, h('div', { class: 'pager' }, more));

  let before = null;
  async function page() {
    more.disabled = true;
    try {
      const q = before === null ? `?limit=${PAGE}` : `?limit=${PAGE}&before=${before}`;
      const p = await api(`/audit${q}`);
      if (ctx.signal.aborted) return;
      for (const e of p.entries) tbody.append(row(e));
      before = p.next_before;
      more.hidden = before === null || before === undefined;
      note.hidden = tbody.children.length > 0;
      note.textContent = 'Nothing yet: the log records each call that changes something, and each refusal.';
    } catch (e) {
      if (!ctx.signal.aborted) ctx.main.append(h('p', { class: 'form-error', text: describe(e) }));
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', page);
  page();
}

function row(e) {
  const who = e.who ? h('span', {}, e.who.name || e.who.token, ' ', h('span', { class: ['badge', `role-${e.who.role}`], text: e.who.role }))
    : h('span', { class: 'muted', text: 'no token' });
  return h('tr', { class: e.outcome === 'refused' ? 'refused' : null },
    h('td', { class: 'nowrap', text: fmt.time(e.time) }),
    h('td', { class: 'nowrap' }, who),
    h('td', { class: 'opt', text: e.address || '' }),
    h('td', {}, h('code', { text: `${e.method} ${e.path}` })),
    h('td', { class: 'num' }, h('span', { class: ['badge', e.outcome === 'ok' ? 'state-running' : 'state-failed'], text: String(e.status) })),
    h('td', { class: 'help', text: e.detail || '' }));
}
