// The admin view by keyboard alone: an admin (made on the server's host) reaches the audit log
// from the header, filters it with a query line, sees a refused query at its field, checks the
// chain; a user who is not an admin gets the plain "not allowed" page with status 403. axe finds
// no WCAG 2.x A/AA violation on the page, with and without an error. With and without JavaScript.

import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { expectPath, settle, signIn, signUp, trackHydration, uniquePassword, uniqueUsername } from './helpers';
import { lockbox, tabTo } from './operator';

const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];

// axe runs in the page, so only with JavaScript on; the markup it checks is the server's either way.
async function expectNoViolations(page: Page) {
  const results = await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze();
  expect(results.violations.map((v) => ({ id: v.id, targets: v.nodes.map((n) => n.target.join(' ')) }))).toEqual([]);
}

async function auditJourney(page: Page, js: boolean): Promise<void> {
  if (js) {
    await trackHydration(page);
  }
  const admin = uniqueUsername();
  const password = uniquePassword();
  lockbox(['admin', 'create-user', admin, '--admin'], `${password}\n`);
  await signIn(page, admin, password, js);
  await expectPath(page, '/settings/secrets');
  await settle(page, js);

  // The header's Admin link, by keyboard.
  const adminLink = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin', exact: true });
  await tabTo(page, adminLink);
  await page.keyboard.press('Enter');
  await expectPath(page, '/admin/audit');
  await settle(page, js);
  await expect(page.getByRole('navigation', { name: 'Admin sections' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Audit log', level: 1 })).toBeVisible();
  if (js) await expectNoViolations(page);

  // Filter by the admin's own sign-in.
  const search = page.getByLabel('Filter events', { exact: true });
  await tabTo(page, search);
  await page.keyboard.type(`actor:${admin} action:login.*`);
  await page.keyboard.press('Enter');
  await expect(page.locator('table.audit tbody tr').first()).toContainText('login.succeeded');
  await expect(page.locator('table.audit tbody tr').first()).toContainText(admin);
  await settle(page, js);

  // A refused query: the message at the field, the field marked invalid.
  await page.getByLabel('Filter events', { exact: true }).fill('colour:red');
  await page.getByLabel('Filter events', { exact: true }).press('Enter');
  await expect(page.locator('#audit-q-error')).toContainText('unknown filter `colour:`');
  await expect(page.getByLabel('Filter events', { exact: true })).toHaveAttribute('aria-invalid', 'true');
  await settle(page, js);
  if (js) await expectNoViolations(page);

  // Check the chain.
  const check = page.getByRole('link', { name: 'Check the chain', exact: true });
  await tabTo(page, check);
  await page.keyboard.press('Enter');
  await expect(page.locator('#chain-verdict')).toContainText('The audit log is intact');
}

async function notAllowed(page: Page, js: boolean): Promise<void> {
  if (js) {
    await trackHydration(page);
  }
  await signUp(page, uniqueUsername(), uniquePassword(), js);
  await expect(page.getByRole('link', { name: 'Admin', exact: true })).toHaveCount(0);
  const res = await page.goto('/admin/audit');
  expect(res?.status()).toBe(403);
  await expect(page.getByRole('heading', { name: 'Not allowed', level: 1 })).toBeVisible();
  await expect(page.locator('table.audit')).toHaveCount(0);
}

for (const js of [true, false]) {
  test.describe(js ? 'with JavaScript' : 'without JavaScript', () => {
    test.use({ javaScriptEnabled: js });
    test('an admin filters the audit log and checks its chain by keyboard', async ({ page }) => {
      await auditJourney(page, js);
    });
    test('anyone else gets "not allowed" with status 403', async ({ page }) => {
      await notAllowed(page, js);
    });
  });
}
