// Sign-in with an API token. The role comes from /whoami, which also proves the token works.

import { api } from '../api.js';
import { h } from '../dom.js';

let errorBox = null;

export function mount(ctx, done) {
  const input = h('input', { type: 'password', id: 'token', name: 'token', required: true,
    autocomplete: 'off', spellcheck: 'false', placeholder: 'tars_…' });
  const button = h('button', { type: 'submit', class: 'button primary', text: 'Sign in' });
  errorBox = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'signin-form' },
    h('label', { for: 'token', text: 'API token' }), input, errorBox, button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    button.disabled = true;
    errorBox.hidden = true;
    try {
      const who = await api('/whoami', { token });
      if (!ctx.signal.aborted) done(token, who);
    } catch (e) {
      message(e.status === 401 ? 'This token is not valid.' : e.message);
      button.disabled = false;
      input.select();
    }
  });
  ctx.main.append(h('section', { class: 'signin' },
    h('div', { class: 'signin-card' },
      h('h1', { class: 'brand-title', text: 'tars' }),
      h('p', { class: 'muted', text: 'Sign in with an API token to watch and run the agents.' }),
      form,
      h('p', { class: 'hint' }, 'On its first start tarsd writes an admin token to ',
        h('code', { text: '<state_dir>/admin.token' }), '; an admin can create more on the Tokens page.'))));
  input.focus();
}

export function message(text) {
  if (!errorBox) return;
  errorBox.textContent = text;
  errorBox.hidden = false;
}
