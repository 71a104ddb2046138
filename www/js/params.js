// Parameter schemas (ParamDef in docs/openapi.json) as the UI shows them: a table of values
// with their type, range or choices, HOT flag and help; and, for the create form, one input
// per parameter.

import { h } from './dom.js';
import { dash } from './format.js';

// A parameter value as text: numbers as measured, booleans as yes/no.
export function show(v) {
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return String(v); // exact: 0.0007, 1e-7
  if (v === null || v === undefined) return dash;
  return String(v);
}

// What values the parameter takes: [min, max] (log) or the choices.
export function domain(def) {
  if (def.type === 'enum') return (def.choices || []).join(' | ');
  if (def.type === 'bool') return 'true | false';
  const r = `[${show(def.min)}, ${show(def.max)}]`;
  return def.log ? `${r}, log scale` : r;
}

export function hotBadge(def) {
  return def.hot
    ? h('span', { class: 'badge hot', text: 'HOT', title: 'Takes effect while the agent trains' })
    : null;
}

// table(schema, values?): the schema, with a Value column when values are given (values that
// differ from the default are marked).
export function table(schema, values) {
  const withValues = values !== undefined;
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table params' },
    h('thead', {}, h('tr', {},
      h('th', { text: 'Parameter' }),
      withValues ? h('th', { text: 'Value' }) : null,
      h('th', { text: 'Default' }),
      h('th', { class: 'opt', text: 'Type' }),
      h('th', { text: 'Range / choices' }),
      h('th', { text: 'Help' }))),
    h('tbody', {}, schema.map((def) => {
      const v = withValues ? values[def.name] : undefined;
      const changed = withValues && v !== def.default;
      return h('tr', {},
        h('td', {}, h('code', { text: def.name }), ' ', hotBadge(def)),
        withValues ? h('td', { class: ['value', changed && 'changed'], text: show(v),
          title: changed ? 'Differs from the default' : null }) : null,
        h('td', { class: 'muted', text: show(def.default) }),
        h('td', { class: 'opt muted', text: def.type }),
        h('td', { class: 'muted', text: domain(def) }),
        h('td', { class: 'help', text: def.help || '' }));
    }))));
}

// input(def, id): a form control for the parameter, with get() and set(v) of its value
// (get() is undefined while a number field is empty: the default applies).
export function input(def, id) {
  let el;
  if (def.type === 'enum') {
    el = h('select', { id, name: def.name }, (def.choices || []).map((c) => h('option', { value: c, text: c })));
    el.get = () => el.value;
    el.set = (v) => { el.value = v; };
  } else if (def.type === 'bool') {
    el = h('input', { type: 'checkbox', id, name: def.name });
    el.get = () => el.checked;
    el.set = (v) => { el.checked = !!v; };
  } else {
    el = h('input', { type: 'number', id, name: def.name,
      step: def.type === 'int' ? '1' : 'any', min: def.min, max: def.max });
    el.get = () => (el.value === '' || Number.isNaN(el.valueAsNumber) ? undefined : el.valueAsNumber);
    el.set = (v) => { el.value = v === undefined ? '' : String(v); };
  }
  return el;
}
