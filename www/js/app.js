// The admin UI: sign-in, the top bar, and hash routes to the pages.
//
// Each page is a module with mount(ctx, ...params). ctx.main is its element; ctx.signal aborts
// when the user leaves, so a page stops its timers, charts and stream subscription there, and
// a late reply from a page already left changes nothing.

import { api, onUnauthorized, session } from './api.js';
import { fill, h } from './dom.js';
import { clearNotices } from './notices.js';
import { stream } from './stream.js';
import * as agents from './pages/agents.js';
import * as agent from './pages/agent.js';
import * as create from './pages/create.js';
import * as plugins from './pages/plugins.js';
import * as proposals from './pages/proposals.js';
import * as audit from './pages/audit.js';
import * as tokens from './pages/tokens.js';
import * as studies from './pages/studies.js';
import * as study from './pages/study.js';
import * as signin from './pages/signin.js';

const routes = [
  { path: /^\/agents$/, page: agents, nav: 'agents' },
  { path: /^\/agents\/([a-z0-9_-]{1,64})$/, page: agent, nav: 'agents' },
  { path: /^\/new$/, page: create, nav: 'new', role: 'operator' },
  { path: /^\/proposals(?:\/([a-z0-9_-]{1,64}))?$/, page: proposals, nav: 'proposals' },
  { path: /^\/studies$/, page: studies, nav: 'studies' },
  { path: /^\/studies\/([0-9]{1,19})$/, page: study, nav: 'studies' },
  { path: /^\/plugins$/, page: plugins, nav: 'plugins' },
  { path: /^\/audit$/, page: audit, nav: 'audit' },
  { path: /^\/tokens$/, page: tokens, nav: 'tokens', role: 'admin' },
];

const links = [
  { key: 'agents', href: '#/agents', text: 'Agents' },
  { key: 'new', href: '#/new', text: 'New agent', role: 'operator' },
  { key: 'proposals', href: '#/proposals', text: 'Proposals' },
  { key: 'studies', href: '#/studies', text: 'Studies' },
  { key: 'plugins', href: '#/plugins', text: 'Plugins' },
  { key: 'audit', href: '#/audit', text: 'Audit log' },
  { key: 'tokens', href: '#/tokens', text: 'Tokens', role: 'admin' },
];

const main = document.getElementById('main');
let leave = null; // aborts the page shown

function route() {
  if (leave) leave.abort();
  leave = new AbortController();
  clearNotices();
  window.scrollTo(0, 0);
  const ctx = { main, signal: leave.signal, reload: route };
  if (!session.who) {
    document.getElementById('topbar').hidden = true;
    fill(main);
    signin.mount(ctx, signedIn);
    return;
  }
  const path = location.hash.replace(/^#/, '') || '/agents';
  const r = routes.find((x) => x.path.test(path));
  if (!r) {
    location.replace('#/agents');
    return;
  }
  renderNav(r.nav);
  fill(main);
  if (r.role && !session.can(r.role)) {
    main.append(h('section', { class: 'empty' },
      h('h1', { text: 'Not for this role' }),
      h('p', { text: `This page needs the ${r.role} role; you signed in as ${session.who.role}.` })));
    return;
  }
  r.page.mount(ctx, ...path.match(r.path).slice(1));
}

function renderNav(active) {
  document.getElementById('topbar').hidden = false;
  fill(document.getElementById('nav'), links.filter((l) => !l.role || session.can(l.role))
    .map((l) => h('a', { href: l.href, text: l.text, class: l.key === active ? 'active' : null,
      'aria-current': l.key === active ? 'page' : null })));
  const who = session.who;
  fill(document.getElementById('who'), h('span', { class: 'name', text: who.name }),
    h('span', { class: ['badge', `role-${who.role}`], text: who.role }));
}

function signedIn(token, who) {
  session.save(token, who);
  stream.open(token);
  route();
}

function signOut(message) {
  stream.close();
  session.clear();
  route();
  if (message) signin.message(message);
}

onUnauthorized(() => signOut('The token was refused (revoked, or the daemon lost its state): sign in again.'));
stream.onAuthFailed = () => signOut('The live stream refused the token: sign in again.');
// Whoever signs in next starts from the agents, not from the page this session left.
document.getElementById('signout').addEventListener('click', () => {
  history.replaceState(null, '', '#/agents');
  signOut();
});
stream.watch((state) => {
  const el = document.getElementById('live');
  el.className = `live ${state}`;
  el.title = { live: 'Live: receiving events', connecting: 'Connecting to the live stream',
    retrying: 'Live stream lost: reconnecting', closed: 'Not connected' }[state];
});
window.addEventListener('hashchange', route);

// A token kept from before a reload signs in again by itself.
async function boot() {
  const token = session.token;
  if (token) {
    try {
      signedIn(token, await api('/whoami', { token }));
      return;
    } catch (e) {
      // Only a refusal forgets the token: after a network failure a reload may do.
      if (e.status === 401) session.clear();
      route();
      signin.message(e.status === 401 ? 'The saved token was refused: sign in again.'
        : `${e.message}; reload the page to try again.`);
      return;
    }
  }
  route();
}

boot();
