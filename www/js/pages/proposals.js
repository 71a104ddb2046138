// HyperSync proposals (SPEC §6): the queue of parameter changes waiting for an admin, each
// with its diff, proposer, rationale and expected improvement, and Approve / Reject for
// admins; below it the record of every change decided (applied, rejected, failed) with who,
// when and the swap's latency. #/proposals/AGENT shows one agent's.
//
// Nothing on the stream announces a new proposal: the page asks again every few seconds, and
// at once when the stream reports a change of parameters. The queue is keyed by proposal, so
// a reason being typed survives a refresh; history rows are replaced only when their state
// changed.

import { api, session } from '../api.js';
import * as changes from '../changes.js';
import { confirmAction } from '../dialog.js';
import { fill, h, setText } from '../dom.js';
import * as fmt from '../format.js';
import { describe, notify } from '../notices.js';
import { stream } from '../stream.js';

const PAGE = 50; // history rows per request
const POLL_MS = 5000; // how often the page asks again
const OWN = 'an admin\'s own change'; // the note of the approval that an admin's PATCH makes
const HISTORY_STATES = ['applied', 'rejected', 'failed', 'approved', 'applying'];

// What each approval mode (hypersync_mode in the config) does with an operator's proposal.
const MODES = {
  manual: () => 'every operator\'s proposal waits for an admin',
  threshold: (t) => `an operator's proposal is applied at once when its expected improvement reaches ${fmt.num(t)} (hypersync_threshold); others wait for an admin`,
  always: () => 'every valid proposal is applied at once',
};

export function mount(ctx, agent) {
  const { main, signal } = ctx;
  const admin = session.can('admin');
  const count = h('span', { class: 'count' });
  const mode = h('span', { class: 'mode' });
  const agentSel = h('select', { id: 'pf-agent', name: 'agent', 'aria-label': 'Agent' },
    h('option', { value: '', text: 'All agents' }));
  const stateSel = h('select', { id: 'pf-state', name: 'state', 'aria-label': 'State' },
    h('option', { value: '', text: 'Every state' }),
    HISTORY_STATES.slice(0, 3).map((s) => h('option', { value: s, text: s })));
  const queue = h('div', { class: 'queue' });
  const queueNote = h('p', { class: 'muted', hidden: true });
  const tbody = h('tbody');
  const histNote = h('p', { class: 'muted', hidden: true });
  const more = h('button', { type: 'button', class: 'button', text: 'Older proposals', hidden: true });
  const loadError = h('p', { class: 'form-error', role: 'alert', hidden: true });

  main.append(
    h('div', { class: 'page-head' },
      h('h1', {}, 'Proposals ', count),
      h('div', { class: 'filters' }, h('label', { for: 'pf-agent', text: 'Agent' }), agentSel)),
    h('p', { class: 'mode-line' }, 'Approval mode ', mode),
    loadError,
    h('section', { class: 'card' },
      h('header', { class: 'card-head' }, h('h2', { text: 'Pending approval' }),
        h('span', { class: 'muted', text: admin ? 'Approving applies the change at once.' : 'An admin approves or rejects these.' })),
      queue, queueNote),
    h('section', { class: 'card' },
      h('header', { class: 'card-head' }, h('h2', { text: 'History' }),
        h('div', { class: 'filters' }, h('label', { for: 'pf-state', text: 'State' }), stateSel)),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table history' },
        h('thead', {}, h('tr', {},
          h('th', { class: 'num', text: '#' }), h('th', { text: 'Agent' }), h('th', { text: 'State' }),
          h('th', { text: 'Changes' }), h('th', { text: 'Who' }), h('th', { text: 'When' }), h('th', { class: 'opt', text: 'Latency' }), h('th', { text: 'Note' }),
          h('th', { class: 'actions', text: '' }))),
        tbody)),
      histNote, h('div', { class: 'pager' }, more)));

  const agentQuery = agent ? `&agent=${encodeURIComponent(agent)}` : '';

  // --- the agent filter is the route: choosing one opens #/proposals/AGENT
  agentSel.addEventListener('change', () => {
    location.hash = agentSel.value ? `#/proposals/${agentSel.value}` : '#/proposals';
  });
  api('/agents').then((list) => {
    if (signal.aborted) return;
    const ids = list.agents.map((a) => a.id);
    if (agent && !ids.includes(agent)) ids.push(agent); // deleted since: its records stay
    agentSel.append(...ids.sort().map((id) => h('option', { value: id, text: id })));
    agentSel.value = agent || '';
  }, () => {});

  // --- the queue
  const cards = new Map(); // id -> {el, now}

  function proposalCard(rec) {
    const reason = h('input', { type: 'text', name: 'reason', maxlength: 500, placeholder: 'Reason (optional)',
      'aria-label': `Reason for proposal ${rec.id}`, autocomplete: 'off' });
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const approve = h('button', { type: 'button', class: 'button primary', text: 'Approve', dataset: { decide: 'approve' } });
    const reject = h('button', { type: 'button', class: 'button danger-quiet', text: 'Reject', dataset: { decide: 'reject' } });
    const diffBox = h('div', { class: 'diff-box' }, changes.diffTable(rec.diff));
    const pendingNote = changes.entry(rec, 'pending_approval');
    const el = h('article', { class: 'proposal', dataset: { id: String(rec.id), agent: rec.agent } },
      h('header', { class: 'proposal-head' },
        h('strong', { text: `#${rec.id}` }),
        h('a', { href: `#/agents/${rec.agent}`, text: rec.agent }),
        rec.request && rec.request.recreate
          ? h('span', { class: 'badge recreate', text: 're-creates the agent',
            title: 'It changes a parameter that is not HOT: the agent is re-created from its saved state' }) : null,
        h('span', { class: 'muted' }, 'proposed by ', changes.who(rec.by), ` · ${fmt.time(rec.created)}`)),
      h('div', { class: 'proposal-body' }, diffBox,
        h('dl', { class: 'kv proposal-facts' },
        h('dt', { text: 'Rationale' }),
        h('dd', { class: rec.rationale ? 'rationale' : 'muted', text: rec.rationale || 'none given' }),
        h('dt', { text: 'Expected improvement' }),
        h('dd', { text: rec.expected_improvement === null || rec.expected_improvement === undefined
          ? 'not given' : fmt.num(rec.expected_improvement) }),
        pendingNote && pendingNote.note ? [h('dt', { text: 'Waiting because' }), h('dd', { text: pendingNote.note })] : null)),
      admin ? h('div', { class: 'decide' }, reason, approve, reject)
        : h('p', { class: 'muted small', text: 'Waiting for an admin to approve or reject it.' }),
      error);

    async function decide(how) {
      error.hidden = true;
      if (how === 'approve' && rec.request && rec.request.recreate && !(await confirmAction({
        title: `Re-create ${rec.agent}?`, ok: 'Approve and re-create',
        text: `${changes.diffText(rec.diff)}: a parameter that is not HOT changes, so ${rec.agent} is re-created from its saved state with the new values.`,
      }))) return;
      approve.disabled = reject.disabled = true;
      const body = reason.value.trim() ? { reason: reason.value.trim() } : undefined;
      try {
        const done = await api(`/proposals/${rec.id}/${how}`, { method: 'POST', body });
        notify(changes.outcomeText(done), 'ok');
      } catch (e) {
        if (signal.aborted) return;
        const failed = e.status === 409 && e.code === 'failed';
        error.textContent = failed ? changes.changeError(e.message) : describe(e);
        error.hidden = false;
        if (failed) notify(`Proposal #${rec.id}: ${changes.changeError(e.message)}`);
      } finally {
        approve.disabled = reject.disabled = false;
      }
      refresh();
    }
    approve.addEventListener('click', () => decide('approve'));
    reject.addEventListener('click', () => decide('reject'));
    return { el, diffBox, rec };
  }

  // The values the pending proposals' agents have now, so a reviewer sees an old value that
  // moved since the proposal was made.
  async function currentValues(list) {
    const now = new Map();
    await Promise.all([...new Set(list.map((r) => r.agent))].map((a) =>
      api(`/agents/${encodeURIComponent(a)}/params`, { signal }).then((p) => now.set(a, p), () => {})));
    return now;
  }

  async function showQueue(list) {
    const ids = new Set(list.map((r) => r.id));
    for (const [id, c] of cards) {
      if (!ids.has(id)) {
        c.el.remove();
        cards.delete(id);
      }
    }
    let prev = null;
    for (const rec of list) { // newest first
      let c = cards.get(rec.id);
      if (!c) {
        c = proposalCard(rec);
        cards.set(rec.id, c);
      }
      if (prev ? prev.nextSibling !== c.el : queue.firstChild !== c.el) {
        if (prev) prev.after(c.el);
        else queue.prepend(c.el);
      }
      prev = c.el;
    }
    setText(count, list.length ? `${list.length} pending` : '');
    queueNote.hidden = list.length > 0;
    queueNote.textContent = agent ? `Nothing waits for approval on ${agent}.` : 'Nothing waits for approval.';
    if (!list.length) return;
    const now = await currentValues(list);
    if (signal.aborted) return;
    for (const rec of list) {
      const c = cards.get(rec.id);
      const p = now.get(rec.agent);
      if (c && p) fill(c.diffBox, changes.diffTable(rec.diff, { params: p.params, env_params: p.env_params }));
    }
  }

  // --- the history
  const rows = new Map(); // id -> {tr, detail, state}
  let oldest = null; // the id to page back from, or null at the end
  let seeded = false; // whether the first page set oldest (later refreshes leave it)

  function historyRow(rec) {
    const approved = changes.entry(rec, 'approved');
    const rejected = changes.entry(rec, 'rejected');
    // The decision under the proposer; an admin's own change has none of its own.
    let decided = null;
    if (rejected) decided = ['rejected by ', changes.who(rejected.by)];
    else if (approved && !approved.by) decided = ['approved by the mode'];
    else if (approved && approved.by && approved.note !== OWN) decided = ['approved by ', changes.who(approved.by)];

    const o = rec.outcome;
    let latency = null;
    if (o && o.recreated) latency = h('span', {}, `re-created in ${fmt.micros(o.publish_us)}`);
    else if (o && changes.changes(rec.diff).length) {
      latency = h('span', {}, h('span', { class: 'nowrap' }, `publish ${fmt.micros(o.publish_us)}`), h('br'),
        h('span', { class: 'nowrap muted', text: o.first_use_us === null || o.first_use_us === undefined
          ? 'first use: none within 2 s' : `first use ${fmt.micros(o.first_use_us)}` }));
    }
    const notes = [];
    if (rec.error) notes.push(h('p', { class: 'error-text', text: rec.error }));
    if (rejected && rejected.note) notes.push(h('p', { class: 'small', text: `Reason: ${rejected.note}` }));
    if (approved && approved.note && approved.note !== OWN) {
      notes.push(h('p', { class: 'small', text: `Reason: ${approved.note}` }));
    }
    if (rec.rationale) notes.push(h('p', { class: 'small muted', text: `Rationale: ${rec.rationale}` }));

    const toggle = h('button', { type: 'button', class: 'button small', text: 'Steps', 'aria-expanded': 'false',
      title: 'Each step of the workflow, with who and when' });
    const detail = h('tr', { class: 'detail', hidden: true, dataset: { detailOf: String(rec.id) } },
      h('td', { colspan: 9 }, timeline(rec)));
    toggle.addEventListener('click', () => {
      const open = detail.hidden;
      detail.hidden = !open;
      toggle.setAttribute('aria-expanded', String(open));
      toggle.textContent = open ? 'Hide' : 'Steps';
    });
    const tr = h('tr', { dataset: { id: String(rec.id), state: rec.state }, class: rec.state === 'failed' ? 'refused' : null },
      h('td', { class: 'num', text: `#${rec.id}` }),
      h('td', { class: 'nowrap' }, h('a', { href: `#/agents/${rec.agent}`, text: rec.agent })),
      h('td', {}, changes.stateBadge(rec.state)),
      h('td', {}, changes.diffLines(rec.diff)),
      h('td', { class: 'who-col' }, changes.who(rec.by), decided ? h('div', { class: 'decided muted small' }, decided) : null),
      h('td', { class: 'nowrap', text: fmt.time(changes.decidedAt(rec)) }),
      h('td', { class: 'opt small nowrap' }, latency || h('span', { class: 'muted', text: fmt.dash })),
      h('td', { class: 'note' }, notes.length ? notes : h('span', { class: 'muted', text: '' })),
      h('td', { class: 'actions' }, toggle));
    return { tr, detail, state: rec.state };
  }

  function timeline(rec) {
    return h('ol', { class: 'timeline' }, (rec.history || []).map((e) => h('li', {},
      h('span', { class: 'nowrap muted', text: fmt.time(e.time) }), ' ',
      changes.stateBadge(e.state), ' ',
      e.by ? changes.who(e.by) : h('span', { class: 'muted', text: 'tarsd' }),
      e.note ? h('span', { class: 'muted', text: ` — ${e.note}` }) : null)),
    rec.outcome && rec.outcome.version !== undefined
      ? h('li', { class: 'muted', text: `parameters version ${rec.outcome.version}` +
        (rec.outcome.first_use_step ? `, first used at step ${fmt.int(rec.outcome.first_use_step)}` : '') })
      : null);
  }

  // Merges a page of records (newest first) into the table, which stays sorted by id.
  function mergeHistory(list) {
    for (const rec of list) {
      if (rec.state === 'pending_approval' && !stateSel.value) continue;
      const have = rows.get(rec.id);
      if (have && have.state === rec.state) continue;
      const r = historyRow(rec);
      if (have) {
        have.tr.replaceWith(r.tr);
        r.detail.hidden = have.detail.hidden;
        have.detail.replaceWith(r.detail);
      }
      rows.set(rec.id, r);
    }
    const sorted = [...rows.entries()].sort((a, b) => b[0] - a[0]);
    tbody.replaceChildren(...sorted.flatMap(([, r]) => [r.tr, r.detail]));
    histNote.hidden = rows.size > 0;
    histNote.textContent = stateSel.value ? `No ${stateSel.value} proposal${agent ? ` for ${agent}` : ''}.`
      : `No parameter change yet${agent ? ` for ${agent}` : ''}.`;
  }

  function historyQuery(before) {
    let q = `/proposals?limit=${PAGE}${agentQuery}`;
    if (stateSel.value) q += `&state=${stateSel.value}`;
    if (before) q += `&before=${before}`;
    return q;
  }

  // --- loading
  let timer = 0;
  let busy = false;
  let again = false;
  async function refresh() {
    clearTimeout(timer);
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const [pending, page] = await Promise.all([
        api(`/proposals?state=pending_approval&limit=1000${agentQuery}`, { signal }),
        api(historyQuery(null), { signal }),
      ]);
      if (signal.aborted) return;
      loadError.hidden = true;
      fill(mode, h('strong', { text: pending.mode }), `: ${(MODES[pending.mode] || (() => ''))(pending.threshold)}.`);
      mode.dataset.mode = pending.mode;
      if (!seeded) {
        seeded = true;
        oldest = page.proposals.length === PAGE ? page.proposals[PAGE - 1].id : null;
      }
      more.hidden = oldest === null;
      mergeHistory(page.proposals);
      await showQueue(pending.proposals);
    } catch (e) {
      if (signal.aborted) return;
      loadError.textContent = `The proposals could not be loaded: ${describe(e)}`;
      loadError.hidden = false;
    } finally {
      busy = false;
      if (!signal.aborted) {
        if (again) {
          again = false;
          refresh();
        } else {
          timer = setTimeout(refresh, POLL_MS);
        }
      }
    }
  }

  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const page = await api(historyQuery(oldest), { signal });
      if (signal.aborted) return;
      mergeHistory(page.proposals);
      oldest = page.proposals.length === PAGE ? page.proposals[PAGE - 1].id : null;
      more.hidden = oldest === null;
    } catch (e) {
      if (!signal.aborted) notify(describe(e));
    } finally {
      more.disabled = false;
    }
  });

  stateSel.addEventListener('change', () => {
    rows.clear();
    tbody.replaceChildren();
    oldest = null;
    seeded = false;
    refresh();
  });

  // A change of parameters on the stream: the record that made it is there to show.
  let soon = 0;
  const unsubscribe = stream.subscribe((batch) => {
    if (batch.events.some((ev) => (ev.type === 'params' || ev.type === 'recreated') &&
        (!agent || ev.agent === agent || (ev.agent && ev.agent.id === agent)))) {
      clearTimeout(soon);
      soon = setTimeout(refresh, 200);
    }
  });
  stream.filter(agent ? [agent] : []);
  signal.addEventListener('abort', () => {
    unsubscribe();
    clearTimeout(timer);
    clearTimeout(soon);
  });

  refresh();
}
