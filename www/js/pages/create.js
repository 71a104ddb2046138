// The create-agent form, generated from the plugins' schemas (POST /api/v1/agents).
//
// Each parameter starts at the value the agent would get without it: the schema's default,
// then the plugin's defaults, then the chosen preset's. Only the values the user changed are
// sent, so the daemon's own defaults and presets stay the single source of the rest. The
// API's validation errors are shown next to the fields they name.

import { api } from '../api.js';
import { fill, h } from '../dom.js';
import { describe, notify } from '../notices.js';
import * as params from '../params.js';

const DEFAULT_N_ENVS = 8; // what tarsd uses without a preset (host/host.c)

export function mount(ctx) {
  const { main, signal } = ctx;
  const details = new Map(); // plugin name -> Promise of /plugins/{name}
  const detail = (name) => {
    if (!details.has(name)) details.set(name, api(`/plugins/${encodeURIComponent(name)}`));
    return details.get(name);
  };

  // --- the fixed fields
  const top = {};
  const field = (key, label, control, hint) => {
    const error = h('p', { class: 'field-error', hidden: true });
    const wrap = h('div', { class: 'field', dataset: { field: key } },
      h('label', { for: `f-${key}`, text: label }), control, hint ? h('p', { class: 'hint', text: hint }) : null, error);
    top[key] = { control, error, wrap };
    return wrap;
  };
  const idInput = h('input', { id: 'f-id', name: 'id', required: true, maxlength: 64, autocomplete: 'off',
    pattern: '[a-z0-9_\\-]{1,64}', placeholder: 'cartpole-ppo', spellcheck: 'false' });
  const agentSel = h('select', { id: 'f-agent', name: 'agent', required: true });
  const envSel = h('select', { id: 'f-env', name: 'env', required: true });
  const presetSel = h('select', { id: 'f-preset', name: 'preset' });
  const nEnvs = h('input', { id: 'f-n_envs', name: 'n_envs', type: 'number', min: 1, max: 65536, step: '1' });
  const seed = h('input', { id: 'f-seed', name: 'seed', type: 'number', min: 0, step: '1' });
  const summary = h('div', { class: 'form-errors', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'button primary', text: 'Create and start' });
  const agentBox = h('div');
  const envBox = h('div');

  const form = h('form', { class: 'create' },
    h('section', { class: 'card' },
      h('div', { class: 'grid-fields' },
        field('id', 'ID', idInput, 'Lowercase letters, digits, _ and -.'),
        field('agent', 'Agent plugin', agentSel),
        field('env', 'Env plugin', envSel),
        field('preset', 'Preset', presetSel, 'Tuned settings from the agent plugin.'),
        field('n_envs', 'Envs (n_envs)', nEnvs, 'Environment copies stepped together, 1 to 65536.'),
        field('seed', 'Seed', seed))),
    agentBox, envBox, summary,
    h('div', { class: 'form-actions' }, submit,
      h('span', { class: 'muted', text: 'Only the values you change are sent; the rest come from the preset and the plugins.' })));
  main.append(h('div', { class: 'page-head' }, h('h1', { text: 'New agent' })), form);

  // --- parameter sections: kind is 'agent' or 'env'
  const sections = { agent: null, env: null }; // {plugin, detail, fields: Map name -> f}
  let presetTouched = false;
  const base = { n_envs: DEFAULT_N_ENVS, seed: 0 };

  function baseline(d, preset) {
    const b = {};
    for (const def of d.schema || []) b[def.name] = def.default;
    const defaults = d.defaults || {};
    for (const [k, v] of Object.entries(defaults)) if (v === null || typeof v !== 'object') b[k] = v;
    if (preset && defaults[preset]) Object.assign(b, defaults[preset]);
    return b;
  }

  // The value each control would have untouched; a control left at its old baseline follows
  // the new one, a changed one keeps the user's value.
  function rebase() {
    const a = sections.agent;
    const preset = presetSel.value;
    if (a) {
      const b = baseline(a.detail, preset);
      for (const f of a.fields.values()) follow(f, b[f.def.name]);
      followTop(nEnvs, 'n_envs', preset && Number.isInteger(b.n_envs) ? b.n_envs : DEFAULT_N_ENVS);
    }
    const e = sections.env;
    if (e) {
      const b = baseline(e.detail, '');
      for (const f of e.fields.values()) follow(f, b[f.def.name]);
    }
    followTop(seed, 'seed', 0);
  }

  function follow(f, value) {
    if (!changed(f)) f.el.set(value);
    f.baseline = value;
    if (f.el.type === 'number') f.el.placeholder = params.show(value);
    marked(f);
  }

  function followTop(input, key, value) {
    if (input.value === '' || input.valueAsNumber === base[key]) input.value = String(value);
    base[key] = value;
    input.placeholder = String(value);
  }

  function changed(f) {
    const v = f.el.get();
    return v !== undefined && f.baseline !== undefined && v !== f.baseline;
  }

  function marked(f) {
    f.wrap.classList.toggle('changed', changed(f));
  }

  function section(kind, name, d) {
    const fields = new Map();
    const grid = h('div', { class: 'grid-fields params' });
    for (const def of d.schema || []) {
      const id = `p-${kind}-${def.name}`;
      const el = params.input(def, id);
      const error = h('p', { class: 'field-error', hidden: true });
      const undo = h('button', { type: 'button', class: 'undo', text: 'reset', title: 'Back to the default' });
      const f = { def, el, error, baseline: undefined, wrap: null };
      f.wrap = h('div', { class: ['field', def.type === 'bool' && 'bool'], dataset: { param: def.name } },
        h('div', { class: 'field-label' }, h('label', { for: id }, h('code', { text: def.name })), params.hotBadge(def), undo),
        el,
        h('p', { class: 'hint' }, def.help || '', def.type === 'bool' ? null : h('span', { class: 'domain', text: ` ${params.domain(def)}` })),
        error);
      el.addEventListener('input', () => marked(f));
      el.addEventListener('change', () => marked(f));
      undo.addEventListener('click', () => { f.el.set(f.baseline); marked(f); });
      fields.set(def.name, f);
      grid.append(f.wrap);
    }
    sections[kind] = { plugin: name, detail: d, fields };
    const title = kind === 'agent' ? `Parameters of ${name}` : `Parameters of ${name} (env)`;
    return h('section', { class: 'card' },
      h('header', { class: 'card-head' }, h('h2', { text: title }), d.description ? h('span', { class: 'muted', text: d.description }) : null),
      fields.size ? grid : h('p', { class: 'muted', text: 'No parameters.' }));
  }

  async function pickAgent() {
    const name = agentSel.value;
    const d = await detail(name);
    if (signal.aborted || agentSel.value !== name) return;
    const presets = Object.entries(d.defaults || {}).filter(([, v]) => v && typeof v === 'object').map(([k]) => k);
    fill(presetSel, h('option', { value: '', text: presets.length ? 'None: the plugin defaults' : 'None (this agent has no presets)' }),
      presets.map((p) => h('option', { value: p, text: p })));
    presetTouched = false;
    autoPreset();
    fill(agentBox, section('agent', name, d));
    rebase();
  }

  async function pickEnv() {
    const name = envSel.value;
    const d = await detail(name);
    if (signal.aborted || envSel.value !== name) return;
    fill(envBox, section('env', name, d));
    autoPreset();
    rebase();
  }

  // A preset named after the env is the one tuned for it: chosen until the user picks another.
  function autoPreset() {
    if (presetTouched) return;
    const want = [...presetSel.options].some((o) => o.value === envSel.value) ? envSel.value : '';
    presetSel.value = want;
  }

  agentSel.addEventListener('change', () => pickAgent().catch(loadError));
  envSel.addEventListener('change', () => pickEnv().catch(loadError));
  presetSel.addEventListener('change', () => { presetTouched = true; rebase(); });

  function loadError(e) {
    if (!signal.aborted) notify(`The plugin could not be read: ${describe(e)}`);
  }

  // --- errors from the API, next to what they name
  function clearErrors() {
    summary.hidden = true;
    summary.replaceChildren();
    for (const el of form.querySelectorAll('.field-error')) { el.hidden = true; el.textContent = ''; }
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  }

  function showErrors(e, text) {
    const messages = e.details && e.details.length ? e.details : [e.message];
    const envAt = text.indexOf('"env_params":') + 1; // columns are 1-based
    let first = null;
    const lines = [];
    for (const m of messages) {
      const at = /^request body:\d+:(\d+): (.*)$/s.exec(m);
      const col = at ? Number(at[1]) : 0;
      const msg = at ? at[2] : m;
      const target = targetOf(msg, e.code, col, envAt);
      if (target) {
        target.error.textContent = target.error.textContent ? `${target.error.textContent} ${msg}` : msg;
        target.error.hidden = false;
        target.control.setAttribute('aria-invalid', 'true');
        first = first || target.control;
      }
      lines.push(msg);
    }
    fill(summary, h('p', { class: 'summary-title', text: 'The agent was not created:' }),
      h('ul', {}, lines.map((l) => h('li', { text: l }))));
    summary.hidden = false;
    (first || summary).scrollIntoView({ block: 'center' });
    if (first) first.focus();
  }

  // The field a message is about, or null.
  function targetOf(msg, code, col, envAt) {
    let m = /parameter '([^']+)'/.exec(msg);
    if (m) {
      const inEnv = envAt > 0 && col >= envAt;
      const order = inEnv ? ['env', 'agent'] : ['agent', 'env'];
      for (const k of order) {
        const f = sections[k] && sections[k].fields.get(m[1]);
        if (f) return { error: f.error, control: f.el };
      }
      return null;
    }
    if (code === 'exists') return top.id;
    m = /^'(id|agent|env|preset|n_envs|seed)'/.exec(msg) || /^unknown (agent|env|preset)\b/.exec(msg) ||
      /not '(agent|env)'$/.exec(msg);
    if (m) return { error: top[m[1]].error, control: top[m[1]].control };
    return null;
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors();
    if (!form.reportValidity()) return;
    const body = { id: idInput.value.trim(), agent: agentSel.value, env: envSel.value };
    if (presetSel.value) body.preset = presetSel.value;
    if (nEnvs.value !== '' && nEnvs.valueAsNumber !== base.n_envs) body.n_envs = nEnvs.valueAsNumber;
    if (seed.value !== '' && seed.valueAsNumber !== base.seed) body.seed = seed.valueAsNumber;
    for (const [kind, key] of [['agent', 'params'], ['env', 'env_params']]) {
      const s = sections[kind];
      const changes = {};
      for (const f of s ? s.fields.values() : []) if (changed(f)) changes[f.def.name] = f.el.get();
      if (Object.keys(changes).length) body[key] = changes;
    }
    const text = JSON.stringify(body);
    submit.disabled = true;
    try {
      const created = await api('/agents', { method: 'POST', body });
      if (signal.aborted) return;
      location.hash = `#/agents/${created.id}`;
      notify(`${created.id} created and started.`, 'ok');
    } catch (e) {
      if (!signal.aborted) showErrors(e, text);
    } finally {
      submit.disabled = false;
    }
  });

  // --- the plugins to choose from
  api('/plugins').then(async (list) => {
    if (signal.aborted) return;
    const loaded = (kind) => list.plugins.filter((p) => p.kind === kind && p.status === 'loaded');
    const option = (p) => h('option', { value: p.name, text: `${p.name} ${p.version || ''}`.trim() });
    fill(agentSel, loaded('agent').map(option));
    fill(envSel, loaded('env').map(option));
    if (!agentSel.options.length || !envSel.options.length) {
      notify('No agent or env plugin is loaded: see the Plugins page.');
      return;
    }
    await Promise.all([pickAgent(), pickEnv()]);
  }).catch(loadError);
}
