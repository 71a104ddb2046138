// The web UI in headless Chromium (SPEC §8), driven by playwright-core against a running tarsd.
//
//   node tests/browser/ui.mjs URL ADMIN_TOKEN_FILE
//
// Prints "ok - ..." / "not ok - ..." lines and "# ..." diagnostics; tests/integration/ui.sh
// numbers them into its TAP. It stops at the first failed step (the next ones build on it).
// Any console error or warning and any uncaught page error fails the run, except the failed
// requests a step provokes on purpose (a wrong token, an existing agent id), which must then
// appear exactly as expected.
//
// TARS_SCREENSHOTS=1 also writes docs/img/ui-agents.png, docs/img/ui-agent.png (1366×768)
// and docs/img/ui-proposals.png (the whole page) for the admin guide, after letting the first
// agent learn for a while.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const [url, tokenFile] = process.argv.slice(2);
if (!url || !tokenFile) {
  console.error('usage: node tests/browser/ui.mjs URL ADMIN_TOKEN_FILE');
  process.exit(2);
}
const adminToken = readFileSync(tokenFile, 'utf8').trim();
const screenshots = process.env.TARS_SCREENSHOTS === '1';
const docsImg = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'img');
const WAIT = 30000; // how long a condition may take to come true, on a sanitizer build too

let failed = 0;
const ok = (pass, what) => {
  console.log(`${pass ? 'ok' : 'not ok'} - ${what}`);
  if (!pass) failed++;
  return pass;
};
const diag = (text) => String(text).split('\n').forEach((l) => console.log(`# ${l}`));

// Console problems, less the failed loads a step asked for: {status, path} taken once each.
const problems = [];
let expected = [];
function onConsole(m) {
  if (m.type() !== 'error' && m.type() !== 'warning') return;
  const failedLoad = /^Failed to load resource: the server responded with a status of (\d+)/.exec(m.text());
  if (failedLoad) {
    const at = new URL(m.location().url || 'http://x/').pathname;
    const i = expected.findIndex((e) => e.status === Number(failedLoad[1]) && e.path === at);
    if (i >= 0) {
      expected[i].seen = true;
      expected.splice(i, 1);
      return;
    }
  }
  problems.push(`console ${m.type()}: ${m.text()} (${m.location().url || '?'})`);
}
// expectFailure(status, path, fn): runs fn while a failed load of path with status is allowed
// (and required).
async function expectFailure(status, path, fn) {
  const e = { status, path, seen: false };
  expected.push(e);
  await fn();
  expected = expected.filter((x) => x !== e);
  if (!e.seen) problems.push(`expected a ${status} from ${path} in the console; it never came`);
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true });
// The pictures wait up to 5 minutes for the agent to learn: their run gets 5 more.
const watchdog = setTimeout(() => {
  ok(false, `the browser test ends within ${screenshots ? 10 : 5} minutes`);
  process.exit(1);
}, screenshots ? 600000 : 300000);
const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
const page = await context.newPage();
page.setDefaultTimeout(WAIT);
page.on('console', onConsole);
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

// The text of the agents table's cell in column `col` (1-based) of agent `id`.
const cell = (id, col) => page.locator(`tr[data-id="${id}"] td:nth-child(${col})`).innerText();
const lastEpisode = () => page.evaluate(() => {
  const d = window.Chart.getChart(document.querySelector('canvas[data-chart="return"]')).data.datasets[0].data;
  return d.length ? d[d.length - 1].x : 0;
});
const waitFor = (fn, arg) => page.waitForFunction(fn, arg, { timeout: WAIT });

// The API beside the browser, for what a step sets up or checks: {status, body}.
async function apiCall(path, { method = 'GET', body, token = adminToken } = {}) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(new URL(`/api/v1${path}`, url), { method, headers,
    body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}
const gamma = async () => (await apiCall('/agents/cartpole-a2c/params')).body.params.gamma;
// The shown value of one of the agent page's parameters.
const shown = (name, value) => page.locator(`.params-card tr[data-param="${name}"][data-scope="params"] td.value`,
  { hasText: new RegExp(`^${value.replace('.', '\\.')}$`) });
// The pictures of the agents table and an agent's page, once the agent has learnt (not a
// test: nothing is asserted on them). It ends on the agents table.
async function agentPictures() {
  await page.waitForFunction(() => Number(document.querySelector('[data-stat="Mean return"] .stat-value')
    .innerText.replace(/,/g, '')) >= 450 && window.Chart.getChart(document.querySelector('canvas[data-chart="losses"]'))
    .data.datasets[0].data.length >= 60, null, { timeout: 300000 }).catch(() => diag('it did not learn in time'));
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.mouse.move(1200, 150); // beside the facts line: no chart tooltip in the picture
  await page.screenshot({ path: join(docsImg, 'ui-agent.png') });
  await page.click('#nav a[href="#/agents"]');
  await page.locator('tr[data-id="cartpole-random"] td:nth-child(4)').waitFor();
  if (await page.locator('tr[data-id="pendulum-ddpg"]').count()) { // one stopped, for the look
    await page.click('tr[data-id="pendulum-ddpg"] [data-action="stop"]');
    await page.locator('tr[data-id="pendulum-ddpg"] .badge', { hasText: 'stopped' }).waitFor();
    await page.locator('.notice .close').first().click(); // dismissed: not in the picture
  }
  await page.waitForTimeout(1500); // a few batches, so steps/s is filled in
  await page.mouse.move(600, 700); // no hover highlight in the picture
  await page.screenshot({ path: join(docsImg, 'ui-agents.png') });
}

async function signInAs(token) {
  await page.click('#signout');
  await page.locator('#token').waitFor();
  await page.fill('#token', token);
  await page.click('form.signin-form button[type=submit]');
  await page.locator('tr[data-id="cartpole-a2c"]').waitFor();
}

const steps = [
  ['the sign-in form shows, and a wrong token is refused there', async () => {
    await page.goto(url);
    await page.locator('#token').waitFor();
    await expectFailure(401, '/api/v1/whoami', async () => {
      await page.fill('#token', 'tars_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
      await page.click('form.signin-form button[type=submit]');
      await page.getByText('This token is not valid.').waitFor();
    });
    return page.locator('#topbar').isHidden();
  }],
  ['the admin token signs in; the role shows; admin links are there', async () => {
    await page.fill('#token', adminToken);
    await page.click('form.signin-form button[type=submit]');
    await page.locator('#who .badge').waitFor();
    const role = await page.locator('#who .badge').innerText();
    const links = await page.locator('#nav a').allInnerTexts();
    const stored = await page.evaluate(() => sessionStorage.getItem('tars.token'));
    diag(`role ${role}; links ${links.join(', ')}`);
    return role === 'admin' && links.includes('Tokens') && links.includes('New agent') && stored === adminToken;
  }],
  ['the agents table lists both agents, running', async () => {
    await page.locator('tr[data-id="cartpole-a2c"]').waitFor();
    await page.locator('tr[data-id="cartpole-random"]').waitFor();
    return (await cell('cartpole-a2c', 3)) === 'running' && (await cell('cartpole-random', 3)) === 'running';
  }],
  ['  its steps grow from the stream, without reloading', async () => {
    const first = await cell('cartpole-a2c', 4);
    await page.evaluate(() => { window.tarsMarker = 1; }); // gone if the page reloaded
    await waitFor(([f]) => document.querySelector('tr[data-id="cartpole-a2c"] td:nth-child(4)').innerText !== f, [first]);
    const then = await cell('cartpole-a2c', 4);
    diag(`cartpole-a2c's steps: ${first} then ${then}`);
    const n = (s) => Number(s.replace(/,/g, ''));
    return n(then) > n(first) && (await page.evaluate(() => window.tarsMarker === 1)) &&
      (await page.locator('#live.live').count()) === 1;
  }],
  ['an agent page opens from the table; its return chart has points', async () => {
    await page.click('a[href="#/agents/cartpole-a2c"]');
    await page.locator('canvas[data-chart="return"]').waitFor();
    await waitFor(() => {
      const c = window.Chart.getChart(document.querySelector('canvas[data-chart="return"]'));
      return c && c.data.datasets[0].data.length > 0;
    });
    // One look at both datasets: the stream may add points between two.
    const [n, mean] = await page.evaluate(() => window.Chart.getChart(document.querySelector('canvas[data-chart="return"]'))
      .data.datasets.slice(0, 2).map((d) => d.data.length));
    diag(`${n} returns, ${mean} rolling means`);
    return page.url().endsWith('#/agents/cartpole-a2c') && n > 0 && mean === n;
  }],
  ['  and grows from the stream', async () => {
    const last = await lastEpisode();
    await waitFor(([l]) => {
      const d = window.Chart.getChart(document.querySelector('canvas[data-chart="return"]')).data.datasets[0].data;
      return d.length && d[d.length - 1].x > l;
    }, [last]);
    return (await lastEpisode()) > last;
  }],
  ['  the losses, entropy and steps/s charts draw what a2c reports', async () => {
    await waitFor(() => ['losses', 'entropy', 'rate'].every((k) => {
      const c = window.Chart.getChart(document.querySelector(`canvas[data-chart="${k}"]`));
      return c && c.data.datasets.length && c.data.datasets[0].data.length > 0;
    }));
    const names = await page.evaluate(() => window.Chart.getChart(document.querySelector('canvas[data-chart="losses"]'))
      .data.datasets.map((d) => d.label));
    diag(`losses: ${names.join(', ')}`);
    return names.includes('policy_loss') && names.includes('value_loss');
  }],
  ['  the parameters show with their schema', async () => {
    const row = page.locator('table.params tr', { has: page.locator('code', { hasText: /^gamma$/ }) }).first();
    const text = await row.innerText();
    return /0\.99/.test(text) && /\[0, 1\]/.test(text) && /HOT/.test(text) && /Discount/.test(text);
  }],
  ['as admin, a HOT parameter changes on the agent page, which shows the new value', async () => {
    if (screenshots) { // before the changes below alter how the agent learns
      await agentPictures();
      await page.click('a[href="#/agents/cartpole-a2c"]');
      await page.locator('.params-card button[data-edit]').waitFor();
    }
    await page.evaluate(() => { window.tarsMarker = 2; });
    await page.click('.params-card button[data-edit]');
    await page.fill('#pe-params-gamma', '0.97');
    const label = await page.locator('.params-card button[data-submit]').innerText();
    const reply = page.waitForResponse((r) => r.url().endsWith('/api/v1/agents/cartpole-a2c/params') &&
      r.request().method() === 'PATCH');
    await page.click('.params-card button[data-submit]');
    const rec = await (await reply).json();
    await shown('gamma', '0.97').waitFor();
    diag(`${label}: proposal ${rec.id} ${rec.state}, ${JSON.stringify(rec.diff)}`);
    return label === 'Apply' && rec.state === 'applied' && (await gamma()) === 0.97 &&
      (await page.locator('.params-card .edit-bar').isHidden());
  }],
  ['  a change made elsewhere shows from the stream, without reloading', async () => {
    const r = await apiCall('/agents/cartpole-a2c/params', { method: 'PATCH', body: { params: { gamma: 0.975 } } });
    await shown('gamma', '0.975').waitFor();
    return r.status === 200 && (await page.evaluate(() => window.tarsMarker === 2));
  }],
  ['  a value out of range is refused in one line that names the parameter and its range', async () => {
    await page.click('.params-card button[data-edit]');
    await page.fill('#pe-params-gamma', '7');
    await expectFailure(400, '/api/v1/agents/cartpole-a2c/params', async () => {
      await page.click('.params-card button[data-submit]');
      await page.locator('.edit-bar .form-error:not([hidden])').waitFor();
    });
    const text = await page.locator('.edit-bar .form-error').innerText();
    const marked = await page.locator('#pe-params-gamma[aria-invalid="true"]').count();
    diag(text);
    await page.click('.params-card .edit-bar button:has-text("Cancel")');
    await shown('gamma', '0.975').waitFor();
    return /^parameter 'gamma' = 7 is out of range \[0, 1\]$/.test(text) && marked === 1 && (await gamma()) === 0.975;
  }],
  ['the create form shows the API\'s error next to the field it names', async () => {
    await page.click('#nav a[href="#/new"]');
    await page.locator('[data-param="gamma"] input').waitFor();
    await expectFailure(409, '/api/v1/agents', async () => {
      await page.fill('#f-id', 'cartpole-a2c');
      await page.click('form.create button[type=submit]');
      await page.locator('[data-field="id"] .field-error:not([hidden])').waitFor();
    });
    const text = await page.locator('[data-field="id"] .field-error').innerText();
    diag(text);
    return /already exists/.test(text) && (await page.locator('#f-id[aria-invalid="true"]').count()) === 1;
  }],
  ['  it creates an agent, sending only what the user changed', async () => {
    await page.selectOption('#f-agent', 'a2c');
    await page.selectOption('#f-env', 'cartpole');
    await page.locator('#p-agent-gamma').waitFor();
    await waitFor(() => document.querySelector('#f-preset').value === 'cartpole');
    await page.fill('#f-id', 'made-in-ui');
    await page.fill('#p-agent-gamma', '0.95');
    await page.fill('#f-n_envs', '2');
    await page.fill('#p-agent-learning_rate', '0.0007'); // its default: not a change
    const request = page.waitForRequest((r) => r.url().endsWith('/api/v1/agents') && r.method() === 'POST');
    await page.click('form.create button[type=submit]');
    const body = (await request).postDataJSON();
    diag(`sent ${JSON.stringify(body)}`);
    await page.waitForURL(/#\/agents\/made-in-ui$/);
    await page.locator('h1 .badge').waitFor();
    const same = JSON.stringify(body) === JSON.stringify({ id: 'made-in-ui', agent: 'a2c', env: 'cartpole',
      preset: 'cartpole', n_envs: 2, params: { gamma: 0.95 } });
    return same;
  }],
  ['  the new agent stops from its page, which then lists the checkpoint of the stop', async () => {
    await page.locator('h1 .badge', { hasText: 'running' }).waitFor();
    const reply = page.waitForResponse((r) => r.url().endsWith('/api/v1/agents/made-in-ui/stop'));
    await page.click('.page-head [data-action="stop"]');
    await page.locator('h1 .badge', { hasText: 'stopped' }).waitFor();
    // The stop's reply tells the step it stopped at; the list comes to start with a
    // checkpoint there, and the Checkpoint figure follows.
    const step = (await (await reply).json()).steps.toLocaleString('en-US');
    await page.locator('.checkpoints tbody tr:first-child td:first-child', { hasText: new RegExp(`^${step}$`) }).waitFor();
    await page.locator('[data-stat="Checkpoint"] .stat-value', { hasText: new RegExp(`^${step}$`) }).waitFor();
    diag(`checkpoint at step ${step}`);
    return /^[\d,]+$/.test(step);
  }],
  ['  it is deleted after confirming', async () => {
    await page.click('.page-head [data-action="delete"]');
    await page.locator('#confirm[open]').waitFor();
    await page.click('#confirm-ok');
    await page.waitForURL(/#\/agents$/);
    await page.locator('tr[data-id="cartpole-a2c"]').waitFor();
    return (await page.locator('tr[data-id="made-in-ui"]').count()) === 0;
  }],
  ['the plugins page lists plugins and opens a schema', async () => {
    await page.click('#nav a[href="#/plugins"]');
    const row = page.locator('tr', { has: page.locator('strong', { hasText: /^a2c$/ }) });
    await row.locator('button').click();
    await page.locator('tr.detail table.params code', { hasText: /^gamma$/ }).waitFor();
    return (await page.locator('tr.detail h4', { hasText: 'cartpole' }).count()) === 1;
  }],
  ['the audit log shows the agent created and deleted', async () => {
    await page.click('#nav a[href="#/audit"]');
    await page.locator('table.audit tbody tr').first().waitFor();
    const text = await page.locator('table.audit tbody').innerText();
    return /DELETE \/api\/v1\/agents\/made-in-ui/.test(text) && /POST \/api\/v1\/agents\b/.test(text);
  }],
  ['an admin creates a viewer token, shown once', async () => {
    await page.click('#nav a[href="#/tokens"]');
    await page.fill('#t-name', 'ui viewer');
    await page.selectOption('#t-role', 'viewer');
    await page.click('form.inline-form button[type=submit]');
    await page.locator('input.secret').waitFor();
    const token = await page.locator('input.secret').inputValue();
    await page.locator('table.tokens td', { hasText: 'ui viewer' }).waitFor();
    globalThis.viewerToken = token;
    return /^tars_[A-Za-z0-9_-]{43}$/.test(token);
  }],
  ['the tokens page creates an expiring token, rotates it with a grace, and shows expiry and last use', async () => {
    await page.fill('#t-name', 'ui rotated');
    await page.selectOption('#t-role', 'viewer');
    await page.selectOption('#t-expires', '86400');
    await page.click('form.inline-form button[type=submit]');
    await page.locator('.token-once strong', { hasText: 'ui rotated' }).waitFor();
    const first = await page.locator('input.secret').inputValue();
    const row = page.locator('table.tokens tr', { hasText: 'ui rotated' });
    await row.waitFor();
    const expiresText = await row.locator('td.expires').innerText();
    await apiCall('/whoami', { token: first }); // a use, from this machine
    await page.selectOption('#t-grace', '600');
    await row.locator('button[data-rotate]').click();
    await page.click('#confirm-ok');
    await page.locator('.token-once strong', { hasText: 'New secret for ui rotated' }).waitFor();
    const second = await page.locator('input.secret').inputValue();
    await row.locator('td.expires', { hasText: 'old secret until' }).waitFor();
    await row.locator('td.last-used', { hasText: 'from 127.0.0.1' }).waitFor();
    const both = [(await apiCall('/whoami', { token: first })).status, (await apiCall('/whoami', { token: second })).status];
    diag(`expires: ${expiresText.replace(/\n/g, ' | ')}; old and new secret: ${both.join(', ')}`);
    return /^\d{4}-\d\d-\d\d /.test(expiresText) && second !== first &&
      /^tars_[A-Za-z0-9_-]{43}$/.test(second) && both[0] === 200 && both[1] === 200;
  }],
  ['an operator proposes a change on the agent page; it waits in the Proposals queue', async () => {
    const t = await apiCall('/tokens', { method: 'POST', body: { name: 'ui operator', role: 'operator' } });
    globalThis.operatorToken = t.body.token;
    await signInAs(t.body.token);
    await page.click('a[href="#/agents/cartpole-a2c"]');
    await page.click('.params-card button[data-edit]');
    await page.fill('#pe-params-gamma', '0.96');
    await page.fill('#pe-rationale', 'a shorter horizon');
    await page.fill('#pe-expected', '0.02');
    const label = await page.locator('.params-card button[data-submit]').innerText();
    const reply = page.waitForResponse((r) => r.url().endsWith('/api/v1/agents/cartpole-a2c/params') &&
      r.request().method() === 'PATCH');
    await page.click('.params-card button[data-submit]');
    const res = await reply;
    const rec = await res.json();
    globalThis.proposal = rec.id;
    await page.locator('.params-card .pending-link:not([hidden])').waitFor();
    await page.click('#nav a[href="#/proposals"]');
    const card = page.locator(`article.proposal[data-id="${rec.id}"]`);
    await card.waitFor();
    const text = await card.innerText();
    diag(`${label}: ${res.status()} ${rec.state}; the queue shows: ${text.replace(/\n/g, ' | ')}`);
    return label === 'Propose' && res.status() === 202 && /gamma\s+0\.975\s+→\s+0\.96/.test(text) &&
      /a shorter horizon/.test(text) && (await card.locator('[data-decide]').count()) === 0 &&
      (await gamma()) === 0.975;
  }],
  ['an admin approves it on the Proposals page; it is applied and the agent has it', async () => {
    await signInAs(adminToken);
    await page.click('#nav a[href="#/proposals"]');
    const id = globalThis.proposal;
    const card = page.locator(`article.proposal[data-id="${id}"]`);
    await card.waitFor();
    if (screenshots) {
      // For the picture, two more from the operator on another agent: one waits beside ours,
      // one is rejected. Then the page again, so that it shows them.
      const op = { method: 'POST', token: globalThis.operatorToken };
      await apiCall('/proposals', { ...op, body: { agent: 'acrobot-ppo', params: { ent_coef: 0.01 },
        rationale: 'Returns have plateaued: a little more exploration.', expected_improvement: 0.03 } });
      const r = await apiCall('/proposals', { ...op, body: { agent: 'acrobot-ppo', params: { learning_rate: 0.01 } } });
      await apiCall(`/proposals/${r.body.id}/reject`, { method: 'POST', body: { reason: 'too large a step for acrobot' } });
      await page.reload();
      await page.locator(`article.proposal[data-agent="acrobot-ppo"]`).waitFor();
      await page.locator(`table.history tr[data-id="${r.body.id}"]`).waitFor();
      await page.mouse.move(1300, 700);
      await page.screenshot({ path: join(docsImg, 'ui-proposals.png'), fullPage: true });
    }
    await card.locator('input[name="reason"]').fill('worth a try');
    await card.locator('[data-decide="approve"]').click();
    await card.waitFor({ state: 'detached' });
    const row = page.locator(`table.history tr[data-id="${id}"][data-state="applied"]`);
    await row.waitFor();
    const rec = (await apiCall(`/proposals/${id}`)).body;
    diag(`${await row.innerText()}`.replace(/\n/g, ' | '));
    await row.locator('a[href="#/agents/cartpole-a2c"]').click();
    await shown('gamma', '0.96').waitFor();
    return rec.state === 'applied' && rec.decided_by.role === 'admin' && rec.by.role === 'operator' &&
      (await gamma()) === 0.96;
  }],
  ['the Studies pages: the list, a study of two objectives (trials table sorted and filtered, Pareto front) and one of an agent', async () => {
    const made = await apiCall('/studies', { method: 'POST', body: { name: 'ui-pareto', sampler: 'random',
      directions: ['minimize', 'minimize'],
      space: { x: { type: 'float', low: 0, high: 1 }, k: { type: 'categorical', choices: ['a', 'b'] } } } });
    const sid = made.body.id;
    for (let n = 0; n < 40; n++) {
      const t = (await apiCall(`/studies/${sid}/ask`, { method: 'POST', body: {} })).body;
      const x = t.params.x;
      await apiCall(`/studies/${sid}/trials/${t.number}/tell`, { method: 'POST',
        body: { values: [x, (1 - x) ** 2 + (t.params.k === 'b' ? 0.3 : 0)] } });
    }
    const agentStudy = await apiCall('/studies', { method: 'POST', body: { name: 'ui-a2c', agent: 'a2c',
      env: 'cartpole', preset: 'cartpole', budget: 4000, eval_every: 1000, eval_episodes: 2, n_trials: 3,
      space: { learning_rate: { low: 0.0001, high: 0.01, log: true } } } });
    await page.click('#nav a[href="#/studies"]');
    await page.locator(`table.studies tr[data-id="${sid}"]`).waitFor();
    await page.locator(`table.studies tr[data-id="${agentStudy.body.id}"]`).waitFor();
    await page.click(`table.studies tr[data-id="${sid}"] a`);
    await page.locator('table.trials tbody tr').nth(39).waitFor();
    await waitFor(() => !document.querySelector('canvas[aria-label^="Completed trials on the two"]').closest('.card').hidden);
    const front = await page.evaluate(() => window.Chart.getChart(
      document.querySelector('canvas[aria-label^="Completed trials on the two"]')).data.datasets[1].data.length);
    await page.click('table.trials th button:has-text("Value")');
    const first = await page.locator('table.trials tbody tr').first().locator('td').nth(2).innerText();
    await page.selectOption('.card-head select', 'FAILED');
    await page.locator('table.trials tbody tr').first().waitFor({ state: 'detached' });
    diag(`pareto front ${front} of 40; the smallest value first: ${first}`);
    await page.goto(`${url}#/studies/${agentStudy.body.id}`);
    await waitFor(() => window.Chart.getChart(document.querySelector('canvas[aria-label^="Each trial\'s evaluations"]'))
      .data.datasets.length >= 1);
    await page.click('#nav a[href="#/agents"]');
    await page.locator(`table.agents a.study-link[href="#/studies/${agentStudy.body.id}"]`).first().waitFor();
    return made.status === 201 && agentStudy.status === 201 && front >= 1 && front < 40;
  }],
  ['sign out, then in as the viewer: no actions, no create or tokens pages', async () => {
    await page.click('#signout');
    await page.locator('#token').waitFor();
    await page.fill('#token', globalThis.viewerToken);
    await page.click('form.signin-form button[type=submit]');
    await page.locator('tr[data-id="cartpole-a2c"]').waitFor();
    const links = await page.locator('#nav a').allInnerTexts();
    const buttons = await page.locator('table.agents button').count();
    await page.goto(`${url}#/tokens`);
    await page.getByText('This page needs the admin role').waitFor();
    return !links.includes('Tokens') && !links.includes('New agent') && buttons === 0;
  }],
];

for (const [what, fn] of steps) {
  let pass = false;
  try {
    pass = await fn();
  } catch (e) {
    diag(e.message.split('\n').slice(0, 6).join('\n'));
  }
  if (!ok(pass, what)) break;
}
ok(problems.length === 0, 'no console error or warning, no page error');
problems.forEach(diag);
clearTimeout(watchdog);
await browser.close();
process.exit(failed ? 1 : 0);
