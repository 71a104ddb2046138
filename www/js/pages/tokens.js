// API tokens (admin): create one, whose secret is shown this once with a copy button, and
// revoke. tarsd keeps only hashes, so a lost token cannot be shown again, only replaced.

import { api, session } from '../api.js';
import { confirmAction } from '../dialog.js';
import { fill, h } from '../dom.js';
import * as fmt from '../format.js';
import { describe, notify } from '../notices.js';

export function mount(ctx) {
  const name = h('input', { id: 't-name', name: 'name', required: true, maxlength: 64, placeholder: 'ci-viewer', autocomplete: 'off' });
  const role = h('select', { id: 't-role', name: 'role' }, ['viewer', 'operator', 'admin'].map((r) => h('option', { value: r, text: r })));
  const create = h('button', { type: 'submit', class: 'button primary', text: 'Create token' });
  const shown = h('div'); // the new token, once
  const error = h('p', { class: 'form-error', hidden: true });
  const tbody = h('tbody');
  const form = h('form', { class: 'inline-form' },
    h('div', { class: 'field' }, h('label', { for: 't-name', text: 'Name' }), name),
    h('div', { class: 'field' }, h('label', { for: 't-role', text: 'Role' }), role),
    create);

  ctx.main.append(
    h('div', { class: 'page-head' }, h('h1', { text: 'Tokens' })),
    h('section', { class: 'card' }, h('header', { class: 'card-head' }, h('h2', { text: 'New token' }),
      h('span', { class: 'muted', text: 'viewer reads; operator also starts, stops, resets and creates agents; admin also deletes agents and manages tokens.' })),
    form, error, shown),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table tokens' },
      h('thead', {}, h('tr', {}, h('th', { text: 'Name' }), h('th', { text: 'Role' }), h('th', { class: 'opt', text: 'ID' }),
        h('th', { text: 'Created' }), h('th', { class: 'opt', text: 'By' }), h('th', { class: 'actions', text: '' }))),
      tbody)));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    create.disabled = true;
    try {
      const t = await api('/tokens', { method: 'POST', body: { name: name.value.trim(), role: role.value } });
      if (ctx.signal.aborted) return;
      reveal(t);
      name.value = '';
      load();
    } catch (e) {
      error.textContent = describe(e);
      error.hidden = false;
    } finally {
      create.disabled = false;
    }
  });

  function reveal(t) {
    const text = h('input', { class: 'secret', readonly: true, value: t.token, 'aria-label': 'The new token', spellcheck: 'false' });
    const copy = h('button', { type: 'button', class: 'button', text: 'Copy' });
    copy.addEventListener('click', async () => {
      text.select();
      try {
        await navigator.clipboard.writeText(t.token);
        copy.textContent = 'Copied';
      } catch {
        // No clipboard outside a secure context: the text is selected for Ctrl+C.
        copy.textContent = 'Press Ctrl+C';
      }
    });
    fill(shown, h('div', { class: 'token-once' },
      h('p', {}, h('strong', { text: `Token for ${t.name} (${t.role})` }),
        ' — copy it now: it is shown only this once.'),
      h('div', { class: 'secret-row' }, text, copy)));
    text.focus();
    text.select();
  }

  async function load() {
    try {
      const list = await api('/tokens');
      if (ctx.signal.aborted) return;
      fill(tbody, list.tokens.map(row));
    } catch (e) {
      if (!ctx.signal.aborted) notify(describe(e));
    }
  }

  function row(t) {
    const self = session.who && t.id === session.who.id;
    const revoke = h('button', { type: 'button', class: 'button small danger-quiet', text: 'Revoke' });
    revoke.addEventListener('click', async () => {
      const ok = await confirmAction({ title: `Revoke ${t.name}?`, ok: 'Revoke',
        text: self ? 'This is the token you signed in with: you will be signed out.'
          : 'Clients that use this token are refused from now on.' });
      if (!ok) return;
      try {
        await api(`/tokens/${encodeURIComponent(t.id)}`, { method: 'DELETE' });
        notify(`${t.name} revoked.`, 'ok');
        load();
      } catch (e) {
        notify(`Revoke ${t.name}: ${describe(e)}`);
      }
    });
    return h('tr', {},
      h('td', {}, t.name, self ? h('span', { class: 'muted', text: ' (you)' }) : null),
      h('td', {}, h('span', { class: ['badge', `role-${t.role}`], text: t.role })),
      h('td', { class: 'opt' }, h('code', { text: t.id })),
      h('td', { class: 'nowrap', text: fmt.time(t.created) }),
      h('td', { class: 'opt', text: t.created_by || '' }),
      h('td', { class: 'actions' }, revoke));
  }

  load();
}
