// Shared fixtures: every page and context may only talk to the server under test (any other
// request is aborted and fails the test), plus small helpers that arrange users over the API.
const base = require('@playwright/test');

const SERVER = new URL(process.env.KANBAN_E2E_BASE || 'http://127.0.0.1:18000');

/** Abort every request that would leave the machine and remember it. */
async function guard(context, blocked) {
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.host === SERVER.host || url.protocol === 'data:' || url.protocol === 'blob:') return route.continue();
    blocked.push(url.href);
    return route.abort('blockedbyclient');
  });
}

const test = base.test.extend({
  blocked: async ({}, use) => {
    const blocked = [];
    await use(blocked);
    base.expect(blocked, 'requests to other hosts').toEqual([]);
  },
  context: async ({ context, blocked }, use) => {
    await guard(context, blocked);
    await use(context);
  },
  /** A further isolated browser context (another person or tab), guarded the same way. */
  newContext: async ({ browser, blocked }, use) => {
    const made = [];
    await use(async (options = {}) => {
      const ctx = await browser.newContext(options);
      await guard(ctx, blocked);
      made.push(ctx);
      return ctx;
    });
    for (const ctx of made) await ctx.close();
  },
});

/** POST/GET JSON against the API with an optional bearer token and If-Match version. */
async function apiCall(request, method, path, { token, body, ifMatch } = {}) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  if (ifMatch !== undefined) headers['If-Match'] = `"${ifMatch}"`;
  const resp = await request.fetch(new URL(path, SERVER).href, { method, data: body, headers });
  if (!resp.ok()) throw new Error(`${method} ${path}: ${resp.status()} ${await resp.text()}`);
  return resp.json();
}

async function login(request, username, password) {
  const tok = await apiCall(request, 'POST', '/api/auth/login', { body: { username, password } });
  return tok.access_token;
}

/** The admin every spec signs in as (board.spec.js registers it through the page first). */
const ADMIN = { username: 'alice', email: 'alice@example.com', password: 'Secret-pass1' };

/** The admin's access token; the admin is registered here when this spec runs on its own. */
async function adminToken(request) {
  const resp = await request.post(new URL('/api/auth/login', SERVER).href,
    { data: { username: ADMIN.username, password: ADMIN.password } });
  if (resp.status() === 401) await apiCall(request, 'POST', '/api/auth/register', { body: ADMIN });
  return login(request, ADMIN.username, ADMIN.password);
}

/** `base` made unique, so a spec can run again against the same server (`--repeat-each`). */
function unique(base) {
  return `${base} ${Math.random().toString(36).slice(2, 8)}`;
}

/** A board of its own (a unique name from `name`) with one ticket per title; returns {board, tickets}. */
async function boardWith(request, token, name, titles = []) {
  const board = await apiCall(request, 'POST', '/api/boards/', { token, body: { name: unique(name) } });
  const tickets = [];
  for (const title of titles) {
    tickets.push(await apiCall(request, 'POST', '/api/tickets/', { token, body: { board_id: board.id, title } }));
  }
  return { board, tickets };
}

/** Sign in through the page's form. */
async function signInUi(page, username, password) {
  await page.goto('/app/#/signin');
  const form = page.getByRole('form', { name: 'Sign in' });
  await form.getByLabel('Username').fill(username);
  await form.getByLabel('Password').fill(password);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await base.expect(page.getByRole('heading', { name: 'Boards', level: 1 })).toBeVisible();
}

module.exports = { test, expect: base.expect, apiCall, login, signInUi, adminToken, boardWith, unique, ADMIN, SERVER };
