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

/** POST/GET JSON against the API with an optional bearer token. */
async function apiCall(request, method, path, { token, body } = {}) {
  const resp = await request.fetch(new URL(path, SERVER).href, {
    method, data: body, headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  if (!resp.ok()) throw new Error(`${method} ${path}: ${resp.status()} ${await resp.text()}`);
  return resp.json();
}

async function login(request, username, password) {
  const tok = await apiCall(request, 'POST', '/api/auth/login', { body: { username, password } });
  return tok.access_token;
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

module.exports = { test, expect: base.expect, apiCall, login, signInUi, SERVER };
