// Parameter changes and HyperSync proposals (Proposal in docs/openapi.json) as the UI shows
// them: the diff of old and new values, the proposal's state, who, and how fast it applied.
// The Proposals page and the agent page's parameter editor share these.

import { h } from './dom.js';
import * as fmt from './format.js';
import { show } from './params.js';

// The scopes of a diff, as the API names them and as the UI does.
export const SCOPES = [['params', 'agent'], ['env_params', 'env']];

// The changes of a diff, in order: [{scope, name, old, new}].
export function changes(diff) {
  const out = [];
  for (const [scope] of SCOPES) {
    for (const [name, c] of Object.entries((diff && diff[scope]) || {})) {
      out.push({ scope, name, old: c.old, new: c.new });
    }
  }
  return out;
}

// One line for a notice or a title: "learning_rate 0.001 → 0.002, env max_episode_steps 500 → 400".
export function diffText(diff) {
  const list = changes(diff);
  if (!list.length) return 'no value changed';
  return list.map((c) => `${c.scope === 'env_params' ? 'env ' : ''}${c.name} ${show(c.old)} → ${show(c.new)}`)
    .join(', ');
}

// The diff as a small table: parameter, old → new, and with `now` ({params, env_params} of
// the agent today) the current value where it is no longer the old one.
export function diffTable(diff, current) {
  const list = changes(diff);
  if (!list.length) return h('p', { class: 'muted', text: 'No value differs from the agent\'s.' });
  const valueNow = (c) => (current && current[c.scope] ? current[c.scope][c.name] : undefined);
  // The column only when a value moved since: otherwise "old" is what the agent has.
  const now = list.some((c) => valueNow(c) !== undefined && valueNow(c) !== c.old) ? current : null;
  return h('table', { class: 'diff' },
    h('thead', {}, h('tr', {},
      h('th', { text: 'Parameter' }), h('th', { text: 'Old' }), h('th', { class: 'arrow', text: '' }),
      h('th', { text: 'New' }), now ? h('th', { text: 'Now' }) : null)),
    h('tbody', {}, list.map((c) => {
      const cur = now ? valueNow(c) : undefined;
      const moved = cur !== undefined && cur !== c.old;
      return h('tr', { dataset: { param: c.name, scope: c.scope } },
        h('td', {}, c.scope === 'env_params' ? h('span', { class: 'badge scope', text: 'env' }) : null,
          c.scope === 'env_params' ? ' ' : null, h('code', { text: c.name })),
        h('td', { class: 'old', text: show(c.old) }),
        h('td', { class: 'arrow', text: '→' }),
        h('td', { class: 'new', text: show(c.new) }),
        now ? h('td', { class: ['now', moved && 'moved'], text: cur === undefined ? fmt.dash : show(cur),
          title: moved ? 'Changed since it was proposed: approving sets the new value all the same' : null }) : null);
    })));
}

// The compact form for a table cell: one line per change.
export function diffLines(diff) {
  const list = changes(diff);
  if (!list.length) return h('span', { class: 'muted', text: 'no change' });
  return h('ul', { class: 'diff-lines' }, list.map((c) => h('li', {},
    c.scope === 'env_params' ? h('span', { class: 'muted', text: 'env ' }) : null,
    h('code', { text: c.name }), ' ',
    h('span', { class: 'old', text: show(c.old) }), ' → ',
    h('span', { class: 'new', text: show(c.new) }))));
}

const STATE_CLASS = {
  applied: 'state-running',
  pending_approval: 'state-pending',
  approved: 'state-pending',
  applying: 'state-pending',
  rejected: 'state-stopped',
  failed: 'state-failed',
};

export function stateLabel(state) {
  return state === 'pending_approval' ? 'pending approval' : state;
}

export function stateBadge(state) {
  return h('span', { class: ['badge', STATE_CLASS[state] || 'state-stopped'], text: stateLabel(state) });
}

// "name (role)" for a {token, name, role} of the record, or null.
export function who(by) {
  if (!by) return null;
  return h('span', { class: 'who-cell' }, by.name || by.token || '?', ' ',
    h('span', { class: ['badge', `role-${by.role}`], text: by.role }));
}

// The history entry that took the record to `state`, or undefined.
export function entry(rec, state) {
  return (rec.history || []).find((e) => e.state === state);
}

// When the record reached its present state.
export function decidedAt(rec) {
  const hist = rec.history || [];
  return hist.length ? hist[hist.length - 1].time : rec.created;
}

// What the outcome says about the swap's latency, as text.
export function latencyText(rec) {
  const o = rec.outcome;
  if (!o) return null;
  if (o.recreated) return `re-created in ${fmt.micros(o.publish_us)}`;
  if (!changes(rec.diff).length) return 'nothing to publish';
  const first = o.first_use_us === null || o.first_use_us === undefined
    ? 'not stepped with yet' : `first used after ${fmt.micros(o.first_use_us)}`;
  return `published in ${fmt.micros(o.publish_us)}, ${first}`;
}

// The sentence a notice shows once a change is done, for the agent's page and the queue.
export function outcomeText(rec) {
  const what = diffText(rec.diff);
  switch (rec.state) {
    case 'applied': {
      const l = latencyText(rec);
      return `${rec.agent}: ${what} applied${l ? ` (${l})` : ''}.`;
    }
    case 'pending_approval':
      return `Proposal #${rec.id} for ${rec.agent} (${what}) waits for an admin's approval.`;
    case 'rejected':
      return `Proposal #${rec.id} for ${rec.agent} rejected.`;
    default:
      return `Proposal #${rec.id} for ${rec.agent} is ${stateLabel(rec.state)}.`;
  }
}

// An API error's message for a parameter change in one line: "params: parameter 'x' ..."
// reads "parameter 'x' ...", and an env's "env parameter 'x' ...".
export function changeError(message) {
  return String(message).replace(/^params: /, '').replace(/^env_params: (parameter|unknown parameter)/, 'env $1')
    .replace(/^env_params: /, 'env: ');
}

// The parameter an error message names, as {scope, name}, or null.
export function errorTarget(message) {
  const m = /^(params|env_params): (?:unknown )?parameter '([^']+)'/.exec(message) ||
    /^()parameter '([^']+)' of agent/.exec(message);
  if (!m) return null;
  return { scope: m[1] || null, name: m[2] };
}
