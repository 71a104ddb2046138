// The plugins tarsd found: name, kind, version, ABI, whether it loaded (or why not) and the
// sha256 of its library. A loaded plugin whose newest build was refused (a pin that does not
// match, a failed smoke test) says so beside its status, with the reason: the old build runs on. A row opens to the parameter schema and presets (/plugins/{name}).

import { api } from '../api.js';
import { fill, h } from '../dom.js';
import { describe } from '../notices.js';
import * as params from '../params.js';

export function mount(ctx) {
  const tbody = h('tbody');
  ctx.main.append(
    h('div', { class: 'page-head' }, h('h1', { text: 'Plugins' })),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table plugins' },
      h('thead', {}, h('tr', {},
        h('th', { text: 'Name' }), h('th', { text: 'Kind' }), h('th', { text: 'Version' }),
        h('th', { class: 'opt', text: 'ABI' }), h('th', { text: 'Status' }),
        h('th', { class: 'opt', text: 'sha256' }), h('th', { class: 'actions', text: '' }))),
      tbody)));

  api('/plugins').then((list) => {
    if (ctx.signal.aborted) return;
    const order = { agent: 0, env: 1 };
    list.plugins.sort((a, b) => (order[a.kind] ?? 2) - (order[b.kind] ?? 2) || (a.name || '').localeCompare(b.name || ''));
    for (const p of list.plugins) tbody.append(...row(p));
  }, (e) => {
    if (!ctx.signal.aborted) ctx.main.append(h('p', { class: 'form-error', text: describe(e) }));
  });

  function row(p) {
    const name = p.name || p.manifest || '?';
    const detailRow = h('tr', { class: 'detail', hidden: true });
    const toggle = p.status === 'loaded' && p.name
      ? h('button', { type: 'button', class: 'button small', text: 'Schema', 'aria-expanded': 'false' })
      : null;
    const status = [h('span', { class: ['badge', p.status === 'loaded' ? 'state-running' : 'state-failed'], text: p.status })];
    if (p.error) status.push(h('p', { class: 'error-text', text: p.error }));
    if (p.warning) status.push(h('p', { class: 'warning-text', text: p.warning }));
    if (p.refused_build) {
      const b = p.refused_build;
      status.push(h('span', { class: ['badge', 'state-failed'], text: 'new build refused',
        title: b.sha256 ? `sha256 ${b.sha256}` : '' }));
      status.push(h('p', { class: 'error-text', text: b.error || 'refused' }));
    }
    const tr = h('tr', {},
      h('td', {}, h('strong', { text: name }), p.description ? h('p', { class: 'muted small', text: p.description }) : null),
      h('td', { text: p.kind }),
      h('td', { text: p.version || '' }),
      h('td', { class: 'opt', text: p.abi || '' }),
      h('td', {}, status),
      h('td', { class: 'opt' }, p.sha256 ? h('code', { class: 'hash', text: p.sha256.slice(0, 12), title: p.sha256 }) : ''),
      h('td', { class: 'actions' }, toggle));
    if (toggle) {
      let loaded = false;
      toggle.addEventListener('click', async () => {
        const open = detailRow.hidden;
        detailRow.hidden = !open;
        toggle.setAttribute('aria-expanded', String(open));
        toggle.textContent = open ? 'Hide' : 'Schema';
        if (!open || loaded) return;
        loaded = true;
        const cell = h('td', { colspan: 7 }, h('p', { class: 'muted', text: 'Loading…' }));
        fill(detailRow, cell);
        try {
          fill(cell, details(await api(`/plugins/${encodeURIComponent(p.name)}`)));
        } catch (e) {
          loaded = false;
          fill(cell, h('p', { class: 'form-error', text: describe(e) }));
        }
      });
    }
    return [tr, detailRow];
  }
}

// The schema, the presets (members of `defaults` that are objects), other defaults, and the
// agents that use the plugin.
function details(d) {
  const defaults = d.defaults || {};
  const presets = Object.entries(defaults).filter(([, v]) => v && typeof v === 'object');
  const plain = Object.entries(defaults).filter(([, v]) => !v || typeof v !== 'object');
  const kv = (obj) => h('dl', { class: 'kv' }, obj.flatMap(([k, v]) => [h('dt', {}, h('code', { text: k })), h('dd', { text: params.show(v) })]));
  return h('div', { class: 'plugin-detail' },
    h('p', { class: 'muted small' }, 'sha256 ', h('code', { class: 'hash', text: d.sha256 || '' }),
      d.library ? ` · ${d.library}` : ''),
    (d.schema || []).length ? params.table(d.schema) : h('p', { class: 'muted', text: 'No parameters.' }),
    plain.length ? [h('h3', { text: 'Defaults' }), kv(plain)] : null,
    presets.length
      ? [h('h3', { text: 'Presets' }), h('div', { class: 'presets' }, presets.map(([name, v]) =>
        h('div', { class: 'preset' }, h('h4', { text: name }), kv(Object.entries(v)))))]
      : null,
    h('p', { class: 'muted small', text: (d.agents || []).length ? `Used by: ${d.agents.join(', ')}` : 'No agent uses it.' }));
}
