// An admin stops another user's session by keyboard alone: filters the sessions of all users by
// the owner, asks to stop that session, confirms on the page that names it; the owner's session
// is then stopped. With and without JavaScript. The list's sortable columns: a header link sorts
// by keyboard, `aria-sort` and the caption follow, the filter keeps the order; axe finds nothing
// on the sorted list.

import { expect, test, type Page } from '@playwright/test';
import { expectPath, settle, signIn, trackHydration, uniquePassword, uniqueUsername } from './helpers';
import { lockbox, signInAsNewAdmin, tabTo } from './operator';
import { expectNoViolations } from './axe';

async function stopJourney(page: Page, owner: Page, js: boolean): Promise<void> {
  if (js) {
    await trackHydration(page);
  }
  const admin = uniqueUsername();
  const password = uniquePassword();
  lockbox(['admin', 'create-user', admin, '--admin'], `${password}\n`);
  const ownerName = uniqueUsername();
  lockbox(['admin', 'create-user', ownerName], `${password}\n`);

  // The owner starts the demo.
  await signIn(owner, ownerName, password);
  await expectPath(owner, '/settings/secrets');
  const origin = new URL(owner.url()).origin;
  const launched = await owner.request.post('/api/sessions/launch', {
    form: { environment: 'demo' },
    headers: { Origin: origin },
  });
  expect(launched.status()).toBe(200);
  const id: string = (await launched.json()).id;

  await signIn(page, admin, password, js);
  await expectPath(page, '/settings/secrets');
  await settle(page, js);
  await page.goto('/admin/sessions');
  await settle(page, js);
  const filter = page.getByRole('search', { name: 'Filter sessions' });
  await tabTo(page, filter.getByRole('textbox', { name: 'User', exact: true }));
  await page.keyboard.type(ownerName);
  await tabTo(page, filter.getByRole('button', { name: 'Filter', exact: true }));
  await page.keyboard.press('Enter');
  const row = page.locator(`tr[data-session="${id}"]`);
  await expect(row).toBeVisible();
  await expect(page.locator('tr[data-session]')).toHaveCount(1);
  await settle(page, js);

  const stop = row.getByRole('link', { name: new RegExp(`^Stop ${ownerName}'s demo session`) });
  await tabTo(page, stop);
  await page.keyboard.press('Enter');
  const confirm = page.getByRole('button', { name: new RegExp(`^Stop ${ownerName}'s demo session .* now$`) });
  await expect(confirm).toBeVisible();
  await tabTo(page, confirm);
  await page.keyboard.press('Enter');
  await expect(page.locator(`tr[data-session="${id}"]`)).toHaveAttribute('data-status', 'stopped');

  // The owner sees it stopped.
  const list = await owner.request.post('/api/sessions/list', { form: {}, headers: { Origin: origin } });
  const mine = (await list.json()).find((s: { id: string }) => s.id === id);
  expect(mine.status).toBe('stopped');
}

for (const js of [true, false]) {
  test.describe(js ? 'with JavaScript' : 'without JavaScript', () => {
    test.use({ javaScriptEnabled: js });
    test("an admin stops another user's session by keyboard", async ({ page, browser }) => {
      const ownerContext = await browser.newContext();
      const owner = await ownerContext.newPage();
      try {
        await stopJourney(page, owner, js);
      } finally {
        await ownerContext.close();
      }
    });
  });
}

async function sortJourney(page: Page, js: boolean): Promise<void> {
  if (js) {
    await trackHydration(page);
  }
  const { admin } = await signInAsNewAdmin(page, js);
  // A session of the admin's own, so the list has a row.
  const origin = new URL(page.url()).origin;
  const launched = await page.request.post('/api/sessions/launch', {
    form: { environment: 'demo' },
    headers: { Origin: origin },
  });
  expect(launched.status()).toBe(200);
  await settle(page, js);
  await page.goto('/admin/sessions');
  await settle(page, js);
  const started = page.locator('th:has(a[data-sort="started"])');
  const user = page.locator('th:has(a[data-sort="user"])');
  const caption = page.locator('table.admin-sessions caption');
  await expect(started).toHaveAttribute('aria-sort', 'descending');
  await expect(user).toHaveAttribute('aria-sort', 'none');
  await expect(caption).toHaveText('Sessions of all users. Sorted by start time, descending.');

  // Following the User header by keyboard sorts by owner, A to Z; again, Z to A.
  await tabTo(page, page.getByRole('link', { name: /^User, sort ascending$/ }));
  await page.keyboard.press('Enter');
  await expect(user).toHaveAttribute('aria-sort', 'ascending');
  await expect(started).toHaveAttribute('aria-sort', 'none');
  await expect(caption).toHaveText('Sessions of all users. Sorted by user, ascending.');
  await settle(page, js);
  if (js) {
    await expectNoViolations(page);
  }
  await tabTo(page, page.getByRole('link', { name: /^User, sort descending$/ }));
  await page.keyboard.press('Enter');
  await expect(user).toHaveAttribute('aria-sort', 'descending');
  await settle(page, js);

  // Filtering keeps the order.
  const filter = page.getByRole('search', { name: 'Filter sessions' });
  await tabTo(page, filter.getByRole('textbox', { name: 'User', exact: true }));
  await page.keyboard.type(admin);
  await tabTo(page, filter.getByRole('button', { name: 'Filter', exact: true }));
  await page.keyboard.press('Enter');
  await expect(page.locator('tr[data-session]').first()).toBeVisible();
  await expect(user).toHaveAttribute('aria-sort', 'descending');
  const url = new URL(page.url());
  expect([url.searchParams.get('user'), url.searchParams.get('sort'), url.searchParams.get('dir')]).toEqual([
    admin,
    'user',
    'desc',
  ]);
  await settle(page, js);
  if (js) {
    await expectNoViolations(page);
  }
  // Stop the admin's own session again, so the demo does not linger.
  const list = await page.request.post('/api/sessions/list', { form: {}, headers: { Origin: origin } });
  for (const s of await list.json()) {
    await page.request.post('/api/sessions/stop', { form: { id: s.id }, headers: { Origin: origin } });
  }
}

for (const js of [true, false]) {
  test.describe(js ? 'with JavaScript' : 'without JavaScript', () => {
    test.use({ javaScriptEnabled: js });
    test('an admin sorts the sessions by keyboard and hears the order', async ({ page }) => {
      await sortJourney(page, js);
    });
  });
}
