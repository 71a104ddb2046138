// Building the page from data without HTML strings: every value lands as text, so nothing a
// plugin, an agent id or an audit entry contains can turn into markup.

// h(tag, attrs, ...children): an element. attrs keys: class, text, on<event> (a listener),
// dataset (an object), and any attribute or property (boolean false/null/undefined leave it out).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k in el && typeof v !== 'string') el[k] = v; // value, checked, disabled...
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// Replaces an element's content.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// Sets a text node's content only when it changed: live tables rewrite their cells ten times a
// second, and untouched DOM costs nothing.
export function setText(el, text) {
  const s = String(text);
  if (el.textContent !== s) el.textContent = s;
}
