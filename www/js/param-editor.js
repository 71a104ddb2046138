// An agent's parameters, and its env's, with their schema; operators and admins change them
// in place (PATCH /api/v1/agents/{id}/params).
//
// "Edit" turns each value into a control. An admin's change applies at once ("Apply"); an
// operator's is a proposal ("Propose") that waits for an admin unless the approval mode
// passes it. A parameter that is not HOT cannot change while the agent trains: changing it
// re-creates the agent from its saved state with the new value (recreate: true), after a
// confirmation. The API's refusal is shown in one line and the control it names is marked.
// Values follow the stream's params events, in edit mode too for the controls left alone.

import { api, session } from './api.js';
import * as changes from './changes.js';
import { confirmAction } from './dialog.js';
import { fill, h, setText } from './dom.js';
import { describe, notify } from './notices.js';
import * as params from './params.js';

// editor(id, prm, names): the card; prm is GET /agents/{id}/params, names {agent, env}
// the plugins. Returns {el, setValues(params, env_params)}.
export function editor(id, prm, names, signal) {
  const admin = session.can('admin');
  const rows = []; // {scope, def, value, tr, cell, control, note}
  let editing = false;

  const pending = h('a', { class: 'pending-link', href: `#/proposals/${id}`, hidden: true });
  const edit = h('button', { type: 'button', class: 'button small', text: 'Edit', dataset: { edit: '' },
    title: admin ? 'Change values; they apply at once' : 'Propose new values for an admin to approve' });
  const summary = h('p', { class: 'edit-summary muted' });
  const rationale = h('input', { type: 'text', id: 'pe-rationale', name: 'rationale', maxlength: 500,
    autocomplete: 'off', placeholder: 'Why this change (optional)' });
  const expected = h('input', { type: 'number', id: 'pe-expected', name: 'expected_improvement', step: 'any',
    placeholder: 'optional' });
  const submit = h('button', { type: 'submit', class: 'button primary', text: admin ? 'Apply' : 'Propose',
    dataset: { submit: '' } });
  const cancel = h('button', { type: 'button', class: 'button', text: 'Cancel' });
  const error = h('p', { class: 'form-error one-line', role: 'alert', hidden: true });
  const bar = h('div', { class: 'edit-bar', hidden: true },
    summary,
    h('div', { class: 'edit-fields' },
      h('div', { class: 'field rationale' }, h('label', { for: 'pe-rationale', text: 'Rationale' }), rationale),
      h('div', { class: 'field expected' }, h('label', { for: 'pe-expected', text: 'Expected improvement' }), expected),
      h('div', { class: 'edit-actions' }, submit, cancel)),
    error);

  function table(scope, schema, values) {
    return h('div', { class: 'table-wrap' }, h('table', { class: 'table params', dataset: { scope } },
      h('thead', {}, h('tr', {},
        h('th', { text: 'Parameter' }), h('th', { text: 'Value' }), h('th', { text: 'Default' }),
        h('th', { class: 'opt', text: 'Type' }), h('th', { text: 'Range / choices' }), h('th', { text: 'Help' }))),
      h('tbody', {}, schema.map((def) => {
        const cell = h('td', { class: 'value' });
        const r = { scope, def, value: values[def.name], cell, control: null, note: null, tr: null };
        r.tr = h('tr', { dataset: { param: def.name, scope } },
          h('td', {}, h('code', { text: def.name }), ' ', params.hotBadge(def)),
          cell,
          h('td', { class: 'muted', text: params.show(def.default) }),
          h('td', { class: 'opt muted', text: def.type }),
          h('td', { class: 'muted', text: params.domain(def) }),
          h('td', { class: 'help', text: def.help || '' }));
        rows.push(r);
        view(r);
        return r.tr;
      }))));
  }

  // The value cell as text, marked when it differs from the default.
  function view(r) {
    r.control = null;
    r.note = null;
    const differs = r.value !== r.def.default;
    r.cell.className = ['value', differs && 'changed'].filter(Boolean).join(' ');
    r.cell.title = differs ? 'Differs from the default' : '';
    fill(r.cell, params.show(r.value));
    r.tr.classList.remove('edited', 'cold');
  }

  // The value cell as a control.
  function control(r) {
    const c = params.input(r.def, `pe-${r.scope}-${r.def.name}`);
    c.set(r.value);
    c.setAttribute('aria-label', `${r.def.name}${r.scope === 'env_params' ? ' (env)' : ''}`);
    if (!r.def.hot) c.title = 'Not HOT: a new value re-creates the agent from its saved state';
    c.addEventListener('input', changed);
    c.addEventListener('change', changed);
    r.control = c;
    r.note = h('span', { class: 'cold-note', text: 're-creates the agent', hidden: true });
    r.cell.className = 'value editing';
    r.cell.title = '';
    fill(r.cell, c, r.note);
  }

  const isChanged = (r) => {
    if (!r.control) return false;
    const v = r.control.get();
    return v !== undefined && v !== r.value;
  };

  function changed() {
    const list = rows.filter(isChanged);
    for (const r of rows) {
      const on = list.includes(r);
      r.tr.classList.toggle('edited', on);
      r.tr.classList.toggle('cold', on && !r.def.hot);
      if (r.note) r.note.hidden = !(on && !r.def.hot);
    }
    const cold = list.filter((r) => !r.def.hot).map((r) => r.def.name);
    let text = list.length ? `${list.length} change${list.length > 1 ? 's' : ''}` : 'Change a value above.';
    if (cold.length) {
      text += `; ${cold.join(', ')} ${cold.length > 1 ? 'are' : 'is'} not HOT: ` +
        (admin ? 'the agent is re-created from its saved state with the new values.'
          : 'once approved, the agent is re-created from its saved state with the new values.');
    } else if (list.length) {
      text += admin ? ': HOT, applied at the runner\'s next step.' : ': HOT, applied at the runner\'s next step once approved.';
    }
    setText(summary, text);
    summary.classList.toggle('warn', cold.length > 0);
    submit.textContent = cold.length ? (admin ? 'Apply and re-create' : 'Propose re-creation') : (admin ? 'Apply' : 'Propose');
    return list;
  }

  function clearError() {
    error.hidden = true;
    error.textContent = '';
    for (const r of rows) if (r.control) r.control.removeAttribute('aria-invalid');
  }

  function start() {
    editing = true;
    for (const r of rows) control(r);
    bar.hidden = false;
    edit.hidden = true;
    clearError();
    changed();
  }

  function stop() {
    editing = false;
    for (const r of rows) view(r);
    bar.hidden = true;
    edit.hidden = false;
    rationale.value = '';
    expected.value = '';
    clearError();
  }

  edit.addEventListener('click', () => {
    start();
    const first = rows.find((r) => r.def.hot && r.control);
    if (first) first.control.focus();
  });
  cancel.addEventListener('click', stop);

  // One line saying why the change was refused; the control it names is marked.
  function refused(e) {
    const message = changes.changeError(describe(e));
    error.textContent = message;
    error.hidden = false;
    const t = changes.errorTarget(e.message);
    const r = t && (rows.find((x) => x.def.name === t.name && (!t.scope || x.scope === t.scope)) ||
      rows.find((x) => x.def.name === t.name));
    if (r && r.control) {
      r.control.setAttribute('aria-invalid', 'true');
      r.control.focus();
    }
  }

  async function send(ev) {
    ev.preventDefault();
    clearError();
    const list = changed();
    if (!list.length) {
      error.textContent = 'Nothing to change: every value is the agent\'s own.';
      error.hidden = false;
      return;
    }
    const body = {};
    for (const r of list) (body[r.scope] = body[r.scope] || {})[r.def.name] = r.control.get();
    const cold = list.filter((r) => !r.def.hot).map((r) => r.def.name);
    if (cold.length) body.recreate = true;
    if (rationale.value.trim()) body.rationale = rationale.value.trim();
    if (expected.value !== '') {
      if (Number.isNaN(expected.valueAsNumber)) {
        error.textContent = 'The expected improvement must be a number (or empty).';
        error.hidden = false;
        expected.setAttribute('aria-invalid', 'true');
        return;
      }
      body.expected_improvement = expected.valueAsNumber;
    }
    expected.removeAttribute('aria-invalid');
    if (cold.length && !(await confirmAction({
      title: `Re-create ${id}?`,
      ok: admin ? 'Re-create' : 'Propose',
      text: `${cold.join(', ')} cannot change while the agent trains. ${admin ? 'Applying' : 'Once approved, the change'} ` +
        `re-creates ${id} from its saved state with the new value${list.length > 1 ? 's' : ''}; training goes on from there.`,
    }))) return;
    submit.disabled = true;
    try {
      const rec = await api(`/agents/${encodeURIComponent(id)}/params`, { method: 'PATCH', body });
      if (signal.aborted) return;
      if (rec.state === 'applied') {
        for (const c of changes.changes(rec.diff)) {
          const r = rows.find((x) => x.scope === c.scope && x.def.name === c.name);
          if (r) r.value = c.new;
        }
      }
      notify(changes.outcomeText(rec), 'ok');
      stop();
      refreshPending();
    } catch (e) {
      if (!signal.aborted) refused(e);
    } finally {
      submit.disabled = false;
    }
  }

  // How many of this agent's proposals wait for approval, as a link to them.
  async function refreshPending() {
    try {
      const l = await api(`/proposals?agent=${encodeURIComponent(id)}&state=pending_approval&limit=1000`, { signal });
      if (signal.aborted) return;
      const n = l.proposals.length;
      pending.hidden = n === 0;
      setText(pending, `${n} proposal${n > 1 ? 's' : ''} pending approval`);
    } catch {
      // Only a hint: the Proposals page says what went wrong.
    }
  }

  // New values from the stream or a reply; a control the user changed keeps its value.
  function setValues(agentValues, envValues) {
    const src = { params: agentValues || {}, env_params: envValues || {} };
    for (const r of rows) {
      const v = src[r.scope][r.def.name];
      if (v === undefined || v === r.value) continue;
      const mine = isChanged(r);
      r.value = v;
      if (!editing) view(r);
      else if (!mine) r.control.set(v);
    }
    if (editing) changed();
    refreshPending();
  }

  const operate = session.can('operator');
  const form = h('form', { class: 'param-form', novalidate: true },
    h('h3', {}, names.agent, h('span', { class: 'muted', text: ' agent' })),
    table('params', prm.schema || [], prm.params || {}),
    h('h3', {}, names.env, h('span', { class: 'muted', text: ' env' })),
    (prm.env_schema || []).length ? table('env_params', prm.env_schema, prm.env_params || {})
      : h('p', { class: 'muted', text: 'This env has no parameters.' }),
    operate ? bar : null);
  form.addEventListener('submit', send);
  const el = h('section', { class: 'card params-card' },
    h('header', { class: 'card-head' }, h('h2', { text: 'Parameters' }),
      h('div', { class: 'card-tools' }, pending, operate ? edit : null)),
    form);
  refreshPending();
  return { el, setValues };
}
