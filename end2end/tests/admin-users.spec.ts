// An admin manages an account by keyboard alone: creates it (its one-time password shown once),
// makes it an admin, then disables it after a confirmation (with JavaScript a dialog that closes
// on Escape and gives focus back; without it a page of its own). With and without JavaScript.
// The list's sortable columns: a header link sorts by keyboard, `aria-sort` and the caption
// follow, the search keeps the order; axe finds nothing on the sorted list nor on /admin.

import { expect, test, type Page } from '@playwright/test';
import { settle, trackHydration, uniqueUsername } from './helpers';
import { signInAsNewAdmin, tabTo } from './operator';
import { expectNoViolations } from './axe';

async function usersJourney(page: Page, js: boolean): Promise<void> {
  if (js) {
    await trackHydration(page);
  }
  await signInAsNewAdmin(page, js);
  await page.goto('/admin/users');
  await settle(page, js);
  await expect(page.getByRole('heading', { name: 'Users', level: 1 })).toBeVisible();

  // Create an account.
  const name = uniqueUsername();
  const username = page.getByRole('textbox', { name: 'Username' });
  await tabTo(page, username);
  await page.keyboard.type(name);
  await tabTo(page, page.getByRole('button', { name: 'Create user', exact: true }));
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: `Account ${name} created`, level: 1 })).toBeVisible();
  const oneTime = await page.getByRole('textbox', { name: `One-time password for ${name}` }).inputValue();
  expect(oneTime.length).toBeGreaterThanOrEqual(16);

  // Make it an admin (no confirmation: it takes nothing away).
  await page.goto('/admin/users');
  await settle(page, js);
  const row = page.locator(`tr[data-user="${name}"]`);
  await expect(row).toContainText('User');
  await tabTo(page, page.getByRole('button', { name: `Make admin ${name}`, exact: true }));
  await page.keyboard.press('Enter');
  await expect(page.locator(`tr[data-user="${name}"]`)).toContainText('Admin');
  await settle(page, js);
  expect(await page.content()).not.toContain(oneTime);

  // Disable it, after a confirmation.
  const disable = page.getByRole('link', { name: `Disable ${name}`, exact: true });
  await tabTo(page, disable);
  await page.keyboard.press('Enter');
  if (js) {
    const dialog = page.getByRole('dialog', { name: `Disable ${name}?` });
    await expect(dialog).toBeVisible();
    await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
    await page.keyboard.press('Escape');
    await expect(dialog).toBeHidden();
    await expect(disable).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(dialog).toBeVisible();
    await page.keyboard.press('Tab');
    await expect(dialog.getByRole('button', { name: 'Disable', exact: true })).toBeFocused();
    await page.keyboard.press('Enter');
  } else {
    await expect(page.getByRole('heading', { name: `Disable ${name}?`, level: 1 })).toBeVisible();
    await tabTo(page, page.getByRole('button', { name: 'Disable', exact: true }));
    await page.keyboard.press('Enter');
  }
  await expect(page.locator(`tr[data-user="${name}"]`)).toContainText('Disabled');
}

for (const js of [true, false]) {
  test.describe(js ? 'with JavaScript' : 'without JavaScript', () => {
    test.use({ javaScriptEnabled: js });
    test('an admin creates, promotes and disables an account by keyboard', async ({ page }) => {
      await usersJourney(page, js);
    });
  });
}

async function sortJourney(page: Page, js: boolean): Promise<void> {
  if (js) {
    await trackHydration(page);
  }
  const { admin } = await signInAsNewAdmin(page, js);

  // The overview: a heading, each section with what it holds.
  await page.goto('/admin');
  await settle(page, js);
  await expect(page.getByRole('heading', { name: 'Admin', level: 1 })).toBeVisible();
  const nav = page.getByRole('navigation', { name: 'Admin sections' });
  await expect(nav.getByRole('link', { name: 'Overview', exact: true })).toHaveAttribute('aria-current', 'page');
  const main = page.locator('ul.admin-overview');
  for (const section of ['Users', 'Sessions', 'Projects', 'Environments', 'Cluster secrets', 'Tokens', 'Audit log', 'Keys']) {
    await expect(main.getByRole('link', { name: section, exact: true })).toBeVisible();
  }
  if (js) {
    await expectNoViolations(page);
  }

  // Sorted by name at first; following the Created header by keyboard sorts newest first.
  await page.goto('/admin/users');
  await settle(page, js);
  const nameHeader = page.locator('th:has(a[data-sort="name"])');
  const createdHeader = page.locator('th:has(a[data-sort="created"])');
  await expect(nameHeader).toHaveAttribute('aria-sort', 'ascending');
  await expect(createdHeader).toHaveAttribute('aria-sort', 'none');
  await expect(page.locator('table.users caption')).toHaveText('Users. Sorted by username, ascending.');
  await tabTo(page, page.getByRole('link', { name: /^Created, sort descending$/ }));
  await page.keyboard.press('Enter');
  await expect(createdHeader).toHaveAttribute('aria-sort', 'descending');
  await expect(nameHeader).toHaveAttribute('aria-sort', 'none');
  await expect(page.locator('table.users caption')).toHaveText('Users. Sorted by creation time, descending.');
  expect(new URL(page.url()).searchParams.get('sort')).toBe('created');
  await settle(page, js);
  // The newest account first: the admin made above.
  await expect(page.locator('table.users tbody tr').first()).toHaveAttribute('data-user', admin);
  if (js) {
    await expectNoViolations(page);
  }

  // Again: the other way.
  await tabTo(page, page.getByRole('link', { name: /^Created, sort ascending$/ }));
  await page.keyboard.press('Enter');
  await expect(createdHeader).toHaveAttribute('aria-sort', 'ascending');
  await settle(page, js);

  // A search keeps the order.
  await tabTo(page, page.getByRole('searchbox', { name: 'Search users' }));
  await page.keyboard.type(admin);
  await page.keyboard.press('Enter');
  await expect(page.locator('tr[data-user]')).toHaveCount(1);
  await expect(createdHeader).toHaveAttribute('aria-sort', 'ascending');
  const url = new URL(page.url());
  expect([url.searchParams.get('q'), url.searchParams.get('sort'), url.searchParams.get('dir')]).toEqual([
    admin,
    'created',
    'asc',
  ]);
  await settle(page, js);
  if (js) {
    await expectNoViolations(page);
  }
}

for (const js of [true, false]) {
  test.describe(js ? 'with JavaScript' : 'without JavaScript', () => {
    test.use({ javaScriptEnabled: js });
    test('an admin sorts the users by keyboard and hears the order', async ({ page }) => {
      await sortJourney(page, js);
    });
  });
}
