// Messages above the page: the outcome of an action, or why it failed.

import { h } from './dom.js';

// notify(text, kind): kind 'error' stays until dismissed or the page changes; 'ok' fades after
// a few seconds.
export function notify(text, kind = 'error') {
  const box = document.getElementById('notices');
  const close = h('button', { type: 'button', class: 'close', 'aria-label': 'Dismiss', text: '×' });
  const n = h('div', { class: ['notice', kind], role: kind === 'error' ? 'alert' : 'status' },
    h('span', { text }), close);
  close.addEventListener('click', () => n.remove());
  box.append(n);
  while (box.children.length > 4) box.firstChild.remove();
  if (kind !== 'error') setTimeout(() => n.remove(), 5000);
  return n;
}

// The message of an API error, with its details when they say more.
export function describe(e) {
  const details = (e.details || []).filter((d) => d !== e.message);
  return details.length ? `${e.message} ${details.join(' ')}` : e.message;
}

export function clearNotices() {
  document.getElementById('notices').replaceChildren();
}
