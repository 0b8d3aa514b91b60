// The board without a WebSocket (a proxy that does not pass them, or a client past the server's
// per-client connection cap): its tickets come over REST, it says live updates are unavailable and
// polls, and it goes live as soon as a socket connects.
const { test, expect, apiCall, signInUi, adminToken, boardWith, ADMIN } = require('./fixtures');

const column = (page, name) => page.locator(`section.column[data-column="${name}"]`);

test('the board renders and polls with the WebSocket blocked, then goes live', async ({ page, request }) => {
  // Arrange: every socket the page opens is closed at once until `blocked` is cleared.
  const token = await adminToken(request);
  const { board } = await boardWith(request, token, 'Behind a proxy', ['Loaded over REST', 'Also over REST']);
  let blocked = true;
  let attempts = 0;
  await page.routeWebSocket(/\/ws\/connect/, (ws) => {
    attempts += 1;
    if (blocked) ws.close({ code: 1011, reason: 'blocked by the test' }); else ws.connectToServer();
  });
  await signInUi(page, ADMIN.username, ADMIN.password);

  // Act
  await page.getByRole('link', { name: board.name, exact: true }).click();

  // Assert: the cards are there, and the page says it is not live.
  await expect(page.getByRole('heading', { name: board.name, level: 1 })).toBeVisible();
  await expect(column(page, 'Not Started').locator('li.card')).toHaveCount(2);
  await expect(column(page, 'Not Started').getByRole('heading')).toContainText('2');
  await expect(page.locator('#conn')).toHaveText('Live updates unavailable');
  await expect(page.getByRole('status').filter({ hasText: 'checks for changes every' })).toBeVisible();
  expect(attempts).toBeGreaterThan(0);

  // Another client's change arrives by polling.
  await apiCall(request, 'POST', '/api/tickets/', { token,
    body: { board_id: board.id, title: 'Added by someone else', current_column: 'In Progress' } });
  await expect(column(page, 'In Progress').locator('li.card')).toContainText('Added by someone else');

  // The socket gets through (the browser says it is back online, which retries at once).
  blocked = false;
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  await expect(page.locator('#conn')).toHaveText('Live');
  await expect(page.getByText('checks for changes every')).toHaveCount(0);
  await apiCall(request, 'POST', '/api/tickets/', { token,
    body: { board_id: board.id, title: 'Arrives live', current_column: 'Done' } });
  await expect(column(page, 'Done').locator('li.card')).toContainText('Arrives live', { timeout: 3000 });
  await expect(page.locator('li.card')).toHaveCount(4);
});
