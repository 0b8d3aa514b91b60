// The smaller things users met: the sign-in page's heading and its source for the anonymous role,
// where focus lands after a load (and that it draws no frame), the connection badge, the phone
// layout, the filter's placeholder, deleting asks once, and admins creating users with a role.
const { test, expect, apiCall, signInUi, adminToken, boardWith, unique, login, ADMIN } = require('./fixtures');

const card = (page, title) => page.locator('li.card', { hasText: title });

test('the sign-in page has one h1 and asks /api/status, not /openapi.json, about anonymous access', async ({ page }) => {
  const asked = [];
  page.on('request', (r) => asked.push(new URL(r.url()).pathname));

  await page.goto('/app/#/signin');

  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Sign in to Agent Kanban');
  await expect(page.locator('h1')).toHaveCount(1);
  await expect(page.getByRole('form', { name: 'Sign in' })).toBeVisible();
  expect(asked).toContain('/api/status');
  expect(asked).not.toContain('/openapi.json');
  // This server gives anonymous callers no role, so no "continue without an account".
  await expect(page.getByRole('button', { name: 'Continue without an account' })).toHaveCount(0);
});

test('focus lands on each screen\'s heading without a focus frame, and the badge shows only on a board',
  async ({ page, request }) => {
    const token = await adminToken(request);
    const { board } = await boardWith(request, token, 'Focus board', ['One card']);
    const focusFrame = () => page.evaluate(() => {
      const el = document.activeElement;
      const main = getComputedStyle(document.getElementById('main'));
      return { tag: el.tagName, text: el.textContent, outline: getComputedStyle(el).outlineStyle,
        mainOutline: main.outlineStyle };
    });

    await signInUi(page, ADMIN.username, ADMIN.password);
    await page.reload();
    await expect(page.getByRole('heading', { name: 'Boards', level: 1 })).toBeFocused();
    expect(await focusFrame()).toEqual({ tag: 'H1', text: 'Boards', outline: 'none', mainOutline: 'none' });
    await expect(page.locator('#conn')).toBeHidden();

    await page.getByRole('link', { name: board.name, exact: true }).click();
    await expect(page.getByRole('heading', { name: board.name, level: 1 })).toBeFocused();
    expect(await focusFrame()).toMatchObject({ tag: 'H1', outline: 'none', mainOutline: 'none' });
    await expect(page.locator('#conn')).toHaveText('Live');
    // Tab goes on from the heading to the filter, which does draw the frame.
    await page.keyboard.press('Tab');
    await expect(page.getByLabel('Filter cards')).toBeFocused();
    expect(await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle)).toBe('solid');

    await page.getByRole('link', { name: 'Users' }).click();
    await expect(page.getByRole('heading', { name: 'Users', level: 1 })).toBeFocused();
    await expect(page.locator('#conn')).toBeHidden();
  });

test('on a 360 x 740 phone the first card starts near the top and the filter placeholder fits',
  async ({ page, request }) => {
    const token = await adminToken(request);
    const { board } = await boardWith(request, token, 'Phone board', ['First card on the phone']);
    await page.setViewportSize({ width: 360, height: 740 });
    await signInUi(page, ADMIN.username, ADMIN.password);
    await page.getByRole('link', { name: board.name, exact: true }).click();
    await expect(page.locator('#conn')).toHaveText('Live');

    // Measured on the card in the document (a redraw may have just replaced it).
    const top = () => card(page, 'First card on the phone')
      .evaluate((el) => (el.isConnected ? el.getBoundingClientRect().top : Number.NaN));
    await expect.poll(top).toBeLessThan(200);
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await page.screenshot({ path: 'artifacts/screenshots/board-phone.png' });

    for (const width of [360, 1280]) {
      await page.setViewportSize({ width, height: 740 });
      const fit = await page.getByLabel('Filter cards').evaluate((input) => {
        const style = getComputedStyle(input);
        const ctx = document.createElement('canvas').getContext('2d');
        ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
        const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        return { text: ctx.measureText(input.placeholder).width, room };
      });
      expect(fit.text, `placeholder at ${width} px`).toBeLessThan(fit.room - 20);
    }
  });

test('deleting a comment or a ticket asks once, and cancelling keeps it', async ({ page, request }) => {
  const token = await adminToken(request);
  const { board, tickets: [t] } = await boardWith(request, token, 'Delete board', ['Short-lived card']);
  await apiCall(request, 'POST', '/api/comments/', { token, body: { ticket_id: t.id, text: 'A comment to remove' } });
  const questions = [];
  let answer = false;
  page.on('dialog', async (d) => {
    questions.push(`${d.type()}: ${d.message()}`);
    if (answer) await d.accept(); else await d.dismiss();
  });
  await signInUi(page, ADMIN.username, ADMIN.password);
  await page.getByRole('link', { name: board.name, exact: true }).click();
  await card(page, 'Short-lived card').getByRole('button', { name: 'Short-lived card' }).click();
  const panel = page.getByRole('dialog');
  await expect(panel.locator('.comment')).toContainText('A comment to remove');

  const asked = (n) => expect.poll(() => questions.length).toBe(n);
  await panel.getByRole('button', { name: 'Delete comment' }).click();
  await asked(1);
  expect(questions[0]).toMatch(/^confirm: Delete the comment by alice\?$/);
  await expect(panel.locator('.comment')).toHaveCount(1);
  answer = true;
  await panel.getByRole('button', { name: 'Delete comment' }).click();
  await expect(panel.locator('.comment')).toHaveCount(0);
  await asked(2);
  expect(await apiCall(request, 'GET', `/api/comments/ticket/${t.id}`, { token })).toEqual([]);

  answer = false;
  await panel.getByRole('button', { name: 'Delete ticket' }).click();
  await asked(3);
  expect(questions[2]).toMatch(/^confirm: Delete #\d+ "Short-lived card"\?$/);
  await expect(panel).toBeVisible();
  answer = true;
  await panel.getByRole('button', { name: 'Delete ticket' }).click();
  await expect(panel).toHaveCount(0);
  await expect(card(page, 'Short-lived card')).toHaveCount(0);
  await asked(4);
  expect(questions, 'one question per click').toHaveLength(4);
});

test('an admin creates a user with a role from the users page', async ({ page, request }) => {
  await adminToken(request);
  await signInUi(page, ADMIN.username, ADMIN.password);
  await page.getByRole('link', { name: 'Users' }).click();
  const form = page.getByRole('form', { name: 'Create a user' });
  const petra = unique('petra').replace(' ', '-');

  await form.getByLabel('Username').fill(petra);
  await form.getByLabel('Email').fill(`${petra}@example.com`);
  await form.getByLabel('Password').fill('Planner-pass1');
  await form.getByLabel('Role').selectOption('pm');
  await form.getByRole('button', { name: 'Create user' }).click();

  await expect(page.getByRole('combobox', { name: `Role of ${petra}` })).toHaveValue('pm');
  const tokenOfPetra = await login(request, petra, 'Planner-pass1');
  expect((await apiCall(request, 'GET', '/api/auth/me', { token: tokenOfPetra })).role).toBe('pm');

  // The same name again: the server's answer in plain words, nothing created.
  const again = page.getByRole('form', { name: 'Create a user' });
  await again.getByLabel('Username').fill(petra);
  await again.getByLabel('Email').fill(`other-${petra}@example.com`);
  await again.getByLabel('Password').fill('Planner-pass1');
  await again.getByRole('button', { name: 'Create user' }).click();
  await expect(again.getByRole('alert')).toHaveText('That username is already taken.');
  await expect(page.getByRole('row', { name: new RegExp(petra) })).toHaveCount(1);
});
