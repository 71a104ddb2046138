// Start, stop, reset and delete: the buttons the agents table and an agent's page share, with
// confirmation for what cannot be undone.

import { api, session } from './api.js';
import { confirmAction } from './dialog.js';
import { h } from './dom.js';
import { describe, notify } from './notices.js';

const ACTIONS = {
  start: { role: 'operator', label: 'Start', done: 'started' },
  stop: { role: 'operator', label: 'Stop', done: 'stopped and checkpointed' },
  reset: {
    role: 'operator', label: 'Reset', done: 'reset', danger: true,
    confirm: (id) => ({ title: `Reset ${id}?`, ok: 'Reset',
      text: `The agent is replaced by a fresh one with the same settings: step 0, its episode history and scalars erased.` }),
  },
  delete: {
    role: 'admin', label: 'Delete', done: 'deleted', danger: true,
    confirm: (id) => ({ title: `Delete ${id}?`, ok: 'Delete',
      text: `The agent stops and its checkpoints, history and scalars are erased. This cannot be undone.` }),
  },
};

// run(id, action, before): performs it after confirmation (calling before(action) just ahead
// of the request); resolves to the API's reply (the agent, or null for delete), or undefined
// when cancelled or refused (the reason is shown).
export async function run(id, action, before = () => {}) {
  const a = ACTIONS[action];
  if (a.confirm && !(await confirmAction(a.confirm(id)))) return undefined;
  before(action);
  try {
    const reply = action === 'delete'
      ? await api(`/agents/${encodeURIComponent(id)}`, { method: 'DELETE' })
      : await api(`/agents/${encodeURIComponent(id)}/${action}`, { method: 'POST' });
    notify(`${id} ${a.done}.`, 'ok');
    return reply ?? null;
  } catch (e) {
    notify(`${a.label} ${id}: ${describe(e)}`);
    return undefined;
  }
}

// buttons(id, onDone, {small, before}): the action buttons the role allows, in a group whose
// update(state) shows Start or Stop as the state asks. onDone(action, reply) after each
// success; before(action) once confirmed, ahead of the request.
export function buttons(id, onDone, { small = false, before } = {}) {
  const made = {};
  const group = h('div', { class: 'row-actions' });
  for (const [name, a] of Object.entries(ACTIONS)) {
    if (!session.can(a.role)) continue;
    const b = h('button', { type: 'button', text: a.label,
      class: ['button', small && 'small', a.danger && 'danger-quiet'], dataset: { action: name } });
    b.addEventListener('click', async () => {
      b.disabled = true;
      const reply = await run(id, name, before);
      b.disabled = false;
      if (reply !== undefined) onDone(name, reply);
    });
    made[name] = b;
    group.append(b);
  }
  group.update = (state) => {
    if (made.start) made.start.hidden = state === 'running';
    if (made.stop) made.stop.hidden = state !== 'running';
  };
  return group;
}
