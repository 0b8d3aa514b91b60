// A stale edit (412): "Re-apply my changes" sends only the fields this user changed, so another
// user's change to any other field stays; a field both changed shows both values and asks.
const { test, expect, apiCall, signInUi, adminToken, boardWith, ADMIN } = require('./fixtures');

async function openEditor(page, boardName, title) {
  await page.getByRole('link', { name: boardName, exact: true }).click();
  await page.locator('li.card', { hasText: title }).getByRole('button', { name: title }).click();
  const panel = page.getByRole('dialog');
  await panel.getByRole('button', { name: 'Edit ticket' }).click();
  return panel;
}

async function ticket(request, token, id) {
  return apiCall(request, 'GET', `/api/tickets/${id}`, { token });
}

test('re-applying after a conflict keeps the other user\'s untouched field', async ({ page, request }) => {
  // Arrange: this user edits the title while someone else changes the priority and assignee.
  const token = await adminToken(request);
  const { board, tickets: [t] } = await boardWith(request, token, 'Conflicts one', ['Draft the plan']);
  await signInUi(page, ADMIN.username, ADMIN.password);
  const panel = await openEditor(page, board.name, 'Draft the plan');
  await panel.getByLabel('Title').fill('Draft the final plan');
  await apiCall(request, 'PUT', `/api/tickets/${t.id}`, { token, ifMatch: t.version,
    body: { priority: '5.0', assignee: 'bob' } });

  // Act
  await panel.getByRole('button', { name: 'Save', exact: true }).click();
  const conflict = panel.getByRole('alert').filter({ hasText: 'Someone else changed this ticket' });
  await expect(conflict.getByRole('row', { name: /Priority/ })).toContainText('5.0');
  await expect(conflict.getByRole('row', { name: /Title/ })).toContainText('Draft the final plan');
  await expect(conflict.getByRole('radio')).toHaveCount(0);
  await conflict.getByRole('button', { name: 'Re-apply my changes' }).click();

  // Assert: the title is this user's, the priority and assignee the other user's.
  await expect(conflict).toHaveCount(0);
  await expect(panel.getByRole('heading', { level: 2 })).toHaveText(/Draft the final plan/);
  const saved = await ticket(request, token, t.id);
  expect([saved.title, saved.priority, saved.assignee]).toEqual(['Draft the final plan', '5.0', 'bob']);
  expect(saved.version).toBe(t.version + 2);
});

test('a field both users changed shows both values and asks which to keep', async ({ page, request }) => {
  // Arrange: both change the title; this user also the description, the other the priority.
  const token = await adminToken(request);
  const { board, tickets: [t] } = await boardWith(request, token, 'Conflicts two', ['Name the release']);
  await signInUi(page, ADMIN.username, ADMIN.password);
  const panel = await openEditor(page, board.name, 'Name the release');
  await panel.getByLabel('Title').fill('Name it Aurora');
  await panel.getByLabel('Description').fill('Short and easy to say');
  await apiCall(request, 'PUT', `/api/tickets/${t.id}`, { token, ifMatch: t.version,
    body: { title: 'Name it Borealis', priority: '3.0' } });
  await panel.getByRole('button', { name: 'Save', exact: true }).click();
  const conflict = panel.getByRole('alert').filter({ hasText: 'Someone else changed this ticket' });
  const titleRow = conflict.getByRole('row', { name: /Title/ });
  await expect(titleRow).toContainText('Name it Borealis');
  await expect(titleRow).toContainText('Name it Aurora');

  // Act 1: re-applying without choosing is stopped by the question.
  await conflict.getByRole('button', { name: 'Re-apply my changes' }).click();
  await expect(conflict).toBeVisible();
  expect((await ticket(request, token, t.id)).title).toBe('Name it Borealis');

  // Act 2: keep this user's title.
  await titleRow.getByRole('radio', { name: 'Mine' }).check();
  await conflict.getByRole('button', { name: 'Re-apply my changes' }).click();

  // Assert
  await expect(conflict).toHaveCount(0);
  const saved = await ticket(request, token, t.id);
  expect([saved.title, saved.description, saved.priority]).toEqual(['Name it Aurora', 'Short and easy to say', '3.0']);
});
