// An admin manages an account by keyboard alone: creates it (its one-time password shown once),
// makes it an admin, then disables it after a confirmation (with JavaScript a dialog that closes
// on Escape and gives focus back; without it a page of its own). With and without JavaScript.

import { expect, test, type Page } from '@playwright/test';
import { expectPath, settle, signIn, trackHydration, uniquePassword, uniqueUsername } from './helpers';
import { lockbox, tabTo } from './operator';

async function usersJourney(page: Page, js: boolean): Promise<void> {
  if (js) {
    await trackHydration(page);
  }
  const admin = uniqueUsername();
  const password = uniquePassword();
  lockbox(['admin', 'create-user', admin, '--admin'], `${password}\n`);
  await signIn(page, admin, password, js);
  await expectPath(page, '/settings/secrets');
  await settle(page, js);
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
