// API tokens (admin): create one (optionally expiring), whose secret is shown this once with a
// copy button; rotate one (a new secret, shown once; the old one keeps working for the grace
// chosen); revoke. tarsd keeps only hashes, so a lost token cannot be shown again, only rotated
// or replaced. The table shows each token's expiry and last use.

import { api, session } from '../api.js';
import { confirmAction } from '../dialog.js';
import { fill, h } from '../dom.js';
import * as fmt from '../format.js';
import { describe, notify } from '../notices.js';
import { stream } from '../stream.js';

const EXPIRIES = [['never', 0], ['1 hour', 3600], ['1 day', 86400], ['7 days', 604800],
  ['30 days', 2592000], ['90 days', 7776000], ['1 year', 31536000]];
const GRACES = [['1 hour', 3600], ['stops now', 0], ['10 minutes', 600], ['1 day', 86400],
  ['7 days', 604800]];

const options = (list) => list.map(([text, v]) => h('option', { value: String(v), text }));

export function mount(ctx) {
  const name = h('input', { id: 't-name', name: 'name', required: true, maxlength: 64, placeholder: 'ci-viewer', autocomplete: 'off' });
  const role = h('select', { id: 't-role', name: 'role' }, ['viewer', 'operator', 'admin'].map((r) => h('option', { value: r, text: r })));
  const expires = h('select', { id: 't-expires', name: 'expires' }, options(EXPIRIES));
  const grace = h('select', { id: 't-grace', name: 'grace' }, options(GRACES));
  const create = h('button', { type: 'submit', class: 'button primary', text: 'Create token' });
  const shown = h('div'); // the new token, once
  const error = h('p', { class: 'form-error', hidden: true });
  const tbody = h('tbody');
  const form = h('form', { class: 'inline-form' },
    h('div', { class: 'field' }, h('label', { for: 't-name', text: 'Name' }), name),
    h('div', { class: 'field' }, h('label', { for: 't-role', text: 'Role' }), role),
    h('div', { class: 'field' }, h('label', { for: 't-expires', text: 'Expires after' }), expires),
    create);

  ctx.main.append(
    h('div', { class: 'page-head' }, h('h1', { text: 'Tokens' })),
    h('section', { class: 'card' }, h('header', { class: 'card-head' }, h('h2', { text: 'New token' }),
      h('span', { class: 'muted', text: 'viewer reads; operator also starts, stops, resets and creates agents; admin also deletes agents and manages tokens.' })),
    form, error, shown),
    h('div', { class: ['inline-form', 'tokens-rotation'] },
      h('div', { class: 'field' }, h('label', { for: 't-grace', text: 'On rotation, the old secret works for' }), grace)),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table tokens' },
      h('thead', {}, h('tr', {}, h('th', { text: 'Name' }), h('th', { text: 'Role' }), h('th', { class: 'opt', text: 'ID' }),
        h('th', { text: 'Created' }), h('th', { class: 'opt', text: 'By' }), h('th', { text: 'Expires' }),
        h('th', { text: 'Last used' }), h('th', { class: 'actions', text: '' }))),
      tbody)));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    create.disabled = true;
    try {
      const body = { name: name.value.trim(), role: role.value };
      if (Number(expires.value)) body.expires_in = Number(expires.value);
      const t = await api('/tokens', { method: 'POST', body });
      if (ctx.signal.aborted) return;
      reveal(t, `Token for ${t.name} (${t.role})${t.expires ? `, expires ${fmt.time(t.expires)}` : ''}`);
      name.value = '';
      load();
    } catch (e) {
      error.textContent = describe(e);
      error.hidden = false;
    } finally {
      create.disabled = false;
    }
  });

  function reveal(t, title) {
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
      h('p', {}, h('strong', { text: title }), ' — copy it now: it is shown only this once.'),
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

  async function rotate(t, self) {
    const secs = Number(grace.value);
    const label = GRACES.find(([, v]) => v === secs)[0];
    const ok = await confirmAction({ title: `Rotate ${t.name}?`, ok: 'Rotate',
      text: `A new secret replaces the current one, which ${secs ? `keeps working for ${label}` : 'stops at once'}.` });
    if (!ok) return;
    try {
      const r = await api(`/tokens/${encodeURIComponent(t.id)}/rotate`, { method: 'POST', body: { grace: secs } });
      if (self) { // this tab goes on with the new secret, the stream too
        session.save(r.token, session.who);
        stream.open(r.token);
      }
      reveal(r, `New secret for ${r.name} (${r.role}); the old one works until ${fmt.time(r.previous_until)}`);
      load();
    } catch (e) {
      notify(`Rotate ${t.name}: ${describe(e)}`);
    }
  }

  function row(t) {
    const self = session.who && t.id === session.who.id;
    const revoke = h('button', { type: 'button', class: 'button small danger-quiet', text: 'Revoke' });
    const rot = h('button', { type: 'button', class: 'button small', text: 'Rotate', 'data-rotate': t.id });
    rot.addEventListener('click', () => rotate(t, self));
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
    const graceLeft = t.previous_until && t.previous_until * 1000 > Date.now();
    return h('tr', { 'data-id': t.id },
      h('td', {}, t.name, self ? h('span', { class: 'muted', text: ' (you)' }) : null),
      h('td', {}, h('span', { class: ['badge', `role-${t.role}`], text: t.role })),
      h('td', { class: 'opt' }, h('code', { text: t.id })),
      h('td', { class: 'nowrap', text: fmt.time(t.created) }),
      h('td', { class: 'opt', text: t.created_by || '' }),
      h('td', { class: 'nowrap expires' }, t.expires ? fmt.time(t.expires) : 'never',
        t.expired ? h('span', { class: 'badge expired', text: 'expired' }) : null,
        graceLeft ? h('div', { class: 'muted small', text: `old secret until ${fmt.time(t.previous_until)}` }) : null),
      h('td', { class: 'nowrap last-used' }, t.last_used ? fmt.time(t.last_used) : 'never',
        t.last_used ? h('div', { class: 'muted small', text: `from ${t.last_address}` }) : null),
      h('td', { class: 'actions' }, rot, ' ', revoke));
  }

  load();
}
