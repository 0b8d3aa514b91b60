// Two tabs of one user share the session in localStorage. Each refresh token works once: a tab
// that presented the token another tab had already rotated would make the server revoke the whole
// family and sign every tab out. The test drives two expiries in both tabs at once:
//  1. the stored expiry is set in the past, so both tabs refresh before their next request;
//  2. the stored access token is made unacceptable, so both tabs get a 401 and refresh after it.
// (A real expiry needs the server's 1-minute minimum TTL twice over; the client cannot tell these
// apart from a real one: it acts on the stored expiry and on the server's 401.)
// The refresh answer is held back half a second, so the second tab's refresh always overlaps the
// first one's: only one tab may rotate, the other must take the tokens it stored.
const { test, expect, apiCall, signInUi, adminToken, ADMIN } = require('./fixtures');

const STORE = 'agent-kanban.session';

async function stored(page) {
  return page.evaluate((key) => JSON.parse(localStorage.getItem(key)), STORE);
}

async function editStored(page, change) {
  await page.evaluate(([key, patch]) => {
    localStorage.setItem(key, JSON.stringify({ ...JSON.parse(localStorage.getItem(key)), ...patch }));
  }, [STORE, change]);
}

async function signedIn(page) {
  await expect(page.getByRole('heading', { name: 'Boards', level: 1 })).toBeVisible();
  await expect(page.getByText(`${ADMIN.username} (admin)`)).toBeVisible();
}

test('two tabs of one user stay signed in across two token expiries', async ({ newContext, request }) => {
  // Arrange: one browser, two tabs, both signed in; refresh answers are counted and delayed.
  await adminToken(request);
  const browser = await newContext();
  const refreshes = [];
  await browser.route('**/api/auth/refresh', async (route) => {
    refreshes.push(route.request().postDataJSON().refresh_token);
    const answer = await route.fetch();
    await new Promise((r) => setTimeout(r, 500));
    await route.fulfill({ response: answer });
  });
  const a = await browser.newPage();
  await signInUi(a, ADMIN.username, ADMIN.password);
  const b = await browser.newPage();
  await b.goto('/app/');
  await signedIn(b);
  const first = await stored(a);

  // Act 1: the stored access token has expired; both tabs load at once.
  await editStored(a, { expires_at: Date.now() - 60_000 });
  await Promise.all([a.reload(), b.reload()]);

  // Assert 1: one rotation, both tabs signed in with its tokens.
  await signedIn(a);
  await signedIn(b);
  expect(refreshes).toEqual([first.refresh]);
  const second = await stored(b);
  expect(second.refresh).not.toBe(first.refresh);
  expect(second.expires_at).toBeGreaterThan(Date.now());

  // Act 2: the server refuses the stored access token (401); both tabs load at once.
  await editStored(a, { access: 'an-access-token-the-server-refuses' });
  await Promise.all([a.reload(), b.reload()]);

  // Assert 2: again one rotation, from the second refresh token, and both tabs still work.
  await signedIn(a);
  await signedIn(b);
  expect(refreshes).toEqual([first.refresh, second.refresh]);
  const third = await stored(a);
  expect(third.refresh).not.toBe(second.refresh);
  // The family is intact: the newest tokens work for any client.
  const me = await apiCall(request, 'GET', '/api/auth/me', { token: third.access });
  expect(me.username).toBe(ADMIN.username);
  await b.getByRole('link', { name: 'Boards', exact: true }).click();
  await signedIn(b);
});
