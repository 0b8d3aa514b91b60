// The web board end to end, in the order a team meets it: an account, a board, cards moved by
// pointer and keyboard, comments, a second browser seeing it all live, a conflicting edit, a
// reload, a read-only viewer, and a network drop with changes made meanwhile.
const { test, expect, apiCall, login, signInUi } = require('./fixtures');

test.describe.configure({ mode: 'serial' });

const ADMIN = { username: 'alice', email: 'alice@example.com', password: 'Secret-pass1' };
const VIEWER = { username: 'victor', email: 'victor@example.com', password: 'Viewer-pass1' };
const BOARD = 'Release train';
const ART = 'artifacts/screenshots';

const column = (page, name) => page.locator(`section.column[data-column="${name}"]`);
const card = (page, title) => page.locator('li.card', { hasText: title });

async function openBoard(page) {
  await page.goto('/app/');
  await page.getByRole('link', { name: BOARD }).click();
  await expect(page.getByRole('heading', { name: BOARD, level: 1 })).toBeVisible();
  await expect(page.locator('#conn')).toHaveText('Live');
}

test('register and sign in', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveURL(/\/app\/#\/signin$/);
  const reg = page.getByRole('form', { name: 'Create an account' });
  await reg.getByLabel('Username').fill(ADMIN.username);
  await reg.getByLabel('Email').fill(ADMIN.email);
  await reg.getByLabel('Password').fill('short');
  await reg.getByRole('button', { name: 'Register' }).click();
  // The browser's own validation stops a too-short password before the server sees it.
  await expect(page.getByRole('heading', { name: 'Boards', level: 1 })).toHaveCount(0);
  await reg.getByLabel('Password').fill(ADMIN.password);
  await reg.getByRole('button', { name: 'Register' }).click();
  await expect(page.getByRole('heading', { name: 'Boards', level: 1 })).toBeVisible();
  await expect(page.getByText('alice (admin)')).toBeVisible();

  await page.getByRole('button', { name: 'Sign out' }).click();
  const form = page.getByRole('form', { name: 'Sign in' });
  await form.getByLabel('Username').fill(ADMIN.username);
  await form.getByLabel('Password').fill('Wrong-pass1');
  await form.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'username and password do not match' })).toBeVisible();
  await signInUi(page, ADMIN.username, ADMIN.password);
  await expect(page.getByText('alice (admin)')).toBeVisible();
});

test('create a board', async ({ page }) => {
  await signInUi(page, ADMIN.username, ADMIN.password);
  await page.getByLabel('New board name').fill(BOARD);
  await page.getByRole('button', { name: 'Create board' }).click();
  await expect(page.getByRole('heading', { name: BOARD, level: 1 })).toBeVisible();
  for (const name of ['Not Started', 'In Progress', 'Blocked', 'Ready for QC', 'Done']) {
    await expect(column(page, name).getByRole('heading')).toContainText(name);
  }
  await page.goto('/app/');
  await expect(page.getByRole('listitem').filter({ hasText: BOARD })).toContainText('0 tickets');
});

test('add, edit, drag and keyboard-move a card', async ({ page }) => {
  await signInUi(page, ADMIN.username, ADMIN.password);
  await openBoard(page);
  await page.getByRole('button', { name: 'Add a card to Not Started' }).click();
  await page.getByLabel('New card title in Not Started').fill('Write release notes');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(card(page, 'Write release notes')).toBeVisible();
  await expect(column(page, 'Not Started').locator('li.card')).toHaveCount(1);

  await card(page, 'Write release notes').getByRole('button', { name: 'Write release notes' }).click();
  const panel = page.getByRole('dialog');
  await panel.getByRole('button', { name: 'Edit ticket' }).click();
  await panel.getByLabel('Title').fill('Write the release notes');
  await panel.getByLabel('Priority').fill('2.0');
  await panel.getByLabel('Acceptance criteria').fill('Lists every change');
  await panel.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(panel.locator('p.prose', { hasText: 'Lists every change' })).toBeVisible();
  await expect(panel.getByRole('heading', { level: 2 })).toHaveText(/Write the release notes/);
  await page.screenshot({ path: `${ART}/ticket-panel.png` });
  await panel.getByRole('button', { name: 'Close' }).click();
  await expect(card(page, 'Write the release notes')).toContainText('P2.0');

  // Pointer: drag the card onto another column.
  await card(page, 'Write the release notes').dragTo(column(page, 'In Progress'));
  await expect(column(page, 'In Progress').locator('li.card')).toContainText('Write the release notes');
  await expect(column(page, 'Not Started').locator('li.card')).toHaveCount(0);

  // Keyboard alone: Space picks the card up, Right chooses the next column, Enter drops it.
  await card(page, 'Write the release notes').focus();
  await page.keyboard.press('Space');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Enter');
  await expect(column(page, 'Blocked').locator('li.card')).toContainText('Write the release notes');
  await expect(card(page, 'Write the release notes')).toBeFocused();
  await expect(page.locator('#announcer')).toContainText('moved to Blocked');
  await page.screenshot({ path: `${ART}/board.png`, fullPage: true });
});

test('comment on a card', async ({ page }) => {
  await signInUi(page, ADMIN.username, ADMIN.password);
  await openBoard(page);
  await card(page, 'Write the release notes').getByRole('button').click();
  const panel = page.getByRole('dialog');
  await panel.getByLabel('Add a comment').fill('Drafted the first section');
  await panel.getByRole('button', { name: 'Comment', exact: true }).click();
  await expect(panel.locator('.comment')).toHaveCount(1);
  await expect(panel.locator('.comment')).toContainText('Drafted the first section');
  await expect(panel.getByRole('heading', { name: 'Comments (1)' })).toBeVisible();
  await expect(panel.locator('.history-list')).toContainText('column');
});

test('a second browser sees every change live without reload', async ({ page, newContext }) => {
  await signInUi(page, ADMIN.username, ADMIN.password);
  await openBoard(page);
  const other = await (await newContext()).newPage();
  await signInUi(other, ADMIN.username, ADMIN.password);
  await openBoard(other);

  await page.getByRole('button', { name: 'Add a card to Not Started' }).click();
  await page.getByLabel('New card title in Not Started').fill('Tag the release');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(column(other, 'Not Started').locator('li.card')).toContainText('Tag the release');

  await card(page, 'Tag the release').dragTo(column(page, 'Done'));
  await expect(column(other, 'Done').locator('li.card')).toContainText('Tag the release');
  await expect(column(other, 'Not Started').locator('li.card')).toHaveCount(0);

  await card(page, 'Tag the release').getByRole('button').click();
  const panel = page.getByRole('dialog');
  await panel.getByRole('button', { name: 'Edit ticket' }).click();
  await panel.getByLabel('Assignee').fill('bob');
  await panel.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(card(other, 'Tag the release')).toContainText('@bob');

  // The other browser has the same card open and sees the comment arrive.
  await card(other, 'Tag the release').getByRole('button').click();
  const otherPanel = other.getByRole('dialog');
  await expect(otherPanel.getByRole('heading', { name: 'Comments (0)' })).toBeVisible();
  await panel.getByLabel('Add a comment').fill('Tagged v1.0');
  await panel.getByRole('button', { name: 'Comment', exact: true }).click();
  await expect(otherPanel.locator('.comment')).toContainText('Tagged v1.0');
  await expect(other.locator('#announcer')).not.toBeEmpty();
});

test('a stale edit shows the conflict and can be re-applied', async ({ page, newContext }) => {
  await signInUi(page, ADMIN.username, ADMIN.password);
  await openBoard(page);
  const other = await (await newContext()).newPage();
  await signInUi(other, ADMIN.username, ADMIN.password);
  await openBoard(other);

  await card(page, 'Write the release notes').getByRole('button').click();
  const panel = page.getByRole('dialog');
  await panel.getByRole('button', { name: 'Edit ticket' }).click();
  await panel.getByLabel('Title').fill('Write the release notes (final)');

  await card(other, 'Write the release notes').getByRole('button').click();
  const otherPanel = other.getByRole('dialog');
  await otherPanel.getByRole('button', { name: 'Edit ticket' }).click();
  await otherPanel.getByLabel('Priority').fill('5.0');
  await otherPanel.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(otherPanel.getByRole('button', { name: 'Edit ticket' })).toBeVisible();

  await panel.getByRole('button', { name: 'Save', exact: true }).click();
  const conflict = panel.getByRole('alert').filter({ hasText: 'Someone else changed this ticket' });
  await expect(conflict).toBeVisible();
  await expect(conflict.getByRole('row', { name: /Priority/ })).toContainText('5.0');
  await panel.getByRole('button', { name: 'Re-apply my changes' }).click();
  await expect(conflict).toHaveCount(0);
  await expect(panel.getByRole('heading', { level: 2 })).toHaveText(/Write the release notes \(final\)/);
  // Re-applying sends only the fields this user changed: the other browser's priority stays.
  await expect(card(other, 'Write the release notes (final)')).toContainText('P5.0');
  await expect(card(page, 'Write the release notes (final)')).toContainText('P5.0');
});

test('a reload shows everything persisted', async ({ page }) => {
  await signInUi(page, ADMIN.username, ADMIN.password);
  await openBoard(page);
  await page.reload();
  await expect(page.locator('#conn')).toHaveText('Live');
  await expect(column(page, 'Blocked').locator('li.card')).toContainText('Write the release notes (final)');
  await expect(column(page, 'Done').locator('li.card')).toContainText('Tag the release');
  await expect(card(page, 'Tag the release')).toContainText('@bob');
  await card(page, 'Write the release notes (final)').getByRole('button').click();
  const panel = page.getByRole('dialog');
  await expect(panel.locator('.comment')).toContainText('Drafted the first section');
  await expect(panel.locator('p.prose', { hasText: 'Lists every change' })).toBeVisible();
});

test('a viewer cannot edit', async ({ page, request }) => {
  await apiCall(request, 'POST', '/api/auth/register', { body: VIEWER });
  await signInUi(page, VIEWER.username, VIEWER.password);
  await expect(page.getByText('victor (viewer)')).toBeVisible();
  await expect(page.getByLabel('New board name')).toHaveCount(0);
  await expect(page.getByRole('button', { name: /Rename|Delete/ })).toHaveCount(0);
  await openBoard(page);
  await expect(page.getByRole('button', { name: /Add a card/ })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Edit columns' })).toHaveCount(0);
  await expect(card(page, 'Tag the release')).not.toHaveAttribute('draggable', 'true');
  await card(page, 'Tag the release').dragTo(column(page, 'Not Started'));
  await card(page, 'Tag the release').focus();
  await page.keyboard.press('Space');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('Enter');
  await expect(column(page, 'Done').locator('li.card')).toContainText('Tag the release');
  const panel = page.getByRole('dialog');
  await expect(panel).toBeVisible();
  await expect(panel.locator('.comment')).toContainText('Tagged v1.0');
  await expect(panel.getByRole('button', { name: /Edit|Claim|Release|Delete/ })).toHaveCount(0);
  await expect(panel.getByLabel('Add a comment')).toHaveCount(0);
});

test('a network drop and reconnect resumes without losing or duplicating a card', async ({ page, newContext, request }) => {
  await signInUi(page, ADMIN.username, ADMIN.password);
  await openBoard(page);
  const token = await login(request, ADMIN.username, ADMIN.password);
  const boards = await apiCall(request, 'GET', '/api/boards/', { token });
  const board = boards.find((b) => b.name === BOARD);

  await page.context().setOffline(true);
  await expect(page.locator('#conn')).toHaveText('Offline');
  // Meanwhile another client adds a card and moves one.
  const created = await apiCall(request, 'POST', '/api/tickets/', { token,
    body: { board_id: board.id, title: 'Added while offline', current_column: 'In Progress' } });
  const ticket = (await apiCall(request, 'GET', `/api/boards/${board.id}/tickets`, { token }))
    .tickets.find((t) => t.title === 'Tag the release');
  await apiCall(request, 'POST', `/api/tickets/${ticket.id}/move`, { token, body: { column: 'Ready for QC' } });

  await page.context().setOffline(false);
  await expect(page.locator('#conn')).toHaveText('Live');
  await expect(column(page, 'In Progress').locator('li.card', { hasText: 'Added while offline' })).toHaveCount(1);
  await expect(column(page, 'Ready for QC').locator('li.card')).toContainText('Tag the release');
  await expect(page.locator('li.card', { hasText: 'Tag the release' })).toHaveCount(1);

  // Live again: the next change arrives once, and the earlier one is not replayed twice.
  await apiCall(request, 'POST', `/api/tickets/${created.id}/move`, { token, body: { column: 'Done' } });
  await expect(column(page, 'Done').locator('li.card', { hasText: 'Added while offline' })).toHaveCount(1);
  await expect(page.locator('li.card', { hasText: 'Added while offline' })).toHaveCount(1);
  await expect(page.locator('li.card')).toHaveCount(3);
});

test('screenshots: dark theme and a narrow screen', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await signInUi(page, ADMIN.username, ADMIN.password);
  await openBoard(page);
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  expect(bg).toBe('rgb(22, 26, 31)');
  await page.getByRole('button', { name: 'Flow' }).click();
  await expect(page.getByRole('img', { name: 'Cumulative flow diagram' })).toBeVisible();
  await expect(page.getByRole('img', { name: 'Throughput per day' })).toBeVisible();
  await page.screenshot({ path: `${ART}/board-dark.png`, fullPage: true });
  await page.setViewportSize({ width: 360, height: 740 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await page.screenshot({ path: `${ART}/board-360.png`, fullPage: true });
});

test('a pm edits columns: rename, add, reorder and remove with a target column', async ({ page }) => {
  await signInUi(page, ADMIN.username, ADMIN.password);
  await openBoard(page);
  await page.getByRole('button', { name: 'Edit columns' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit columns' });
  await dialog.getByLabel('Column 3 name').fill('On hold');
  await dialog.getByLabel('New column').fill('Archive');
  await dialog.getByRole('button', { name: 'Add column' }).click();
  await dialog.getByRole('button', { name: 'Move Archive up' }).click();
  await dialog.getByRole('button', { name: 'Remove Ready for QC' }).click();
  await dialog.getByLabel(/Move cards of removed columns/).selectOption('Done');
  await dialog.getByRole('button', { name: 'Save columns' }).click();
  await expect(dialog).toHaveCount(0);
  await expect(page.locator('section.column h2')).toHaveText([/^Not Started/, /^In Progress/, /^On hold/, /^Archive/, /^Done/]);
  await expect(column(page, 'On hold').locator('li.card')).toContainText('Write the release notes (final)');
  await expect(column(page, 'Done').locator('li.card', { hasText: 'Tag the release' })).toHaveCount(1);
});
