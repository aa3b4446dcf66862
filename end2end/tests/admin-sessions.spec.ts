// An admin stops another user's session by keyboard alone: filters the sessions of all users by
// the owner, asks to stop that session, confirms on the page that names it; the owner's session
// is then stopped. With and without JavaScript.

import { expect, test, type Page } from '@playwright/test';
import { expectPath, settle, signIn, trackHydration, uniquePassword, uniqueUsername } from './helpers';
import { lockbox, tabTo } from './operator';

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
