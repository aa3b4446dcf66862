import { expect, test } from '@playwright/test';
import {
  addSecret,
  fakePem,
  notice,
  secretRow,
  sentinel,
  settle,
  signUp,
  trackHydration,
  uniquePassword,
  uniqueUsername,
} from './helpers';
import { launchDemo, sessionCard } from './sessions-path';
import { expectNoViolations } from './axe';

test('the secrets page, with a secret listed, has no WCAG 2.x A/AA violations', async ({ page }) => {
  await trackHydration(page);
  await signUp(page, uniqueUsername(), uniquePassword(), true);
  await addSecret(page, { name: 'API_TOKEN', value: fakePem(sentinel()), description: 'For the accessibility check' });
  await expect(notice(page)).toHaveText('Secret API_TOKEN added.');
  await expect(secretRow(page, 'API_TOKEN')).toBeVisible();
  await settle(page, true);

  await expectNoViolations(page);

  // The replace and delete forms that open under a row.
  for (const action of ['replace', 'delete']) {
    await page.goto(`/settings/secrets?${action}=API_TOKEN`);
    await expect(page.locator('tr[data-manage="API_TOKEN"]')).toBeVisible();
    await settle(page, true);
    await expectNoViolations(page);
  }
});

test('the launch form (with an error) and the sessions page have no WCAG 2.x A/AA violations', async ({ page }) => {
  await trackHydration(page);
  await signUp(page, uniqueUsername(), uniquePassword(), true);
  await addSecret(page, { name: 'API_TOKEN', value: sentinel() });
  await expect(notice(page)).toHaveText('Secret API_TOKEN added.');
  await page.goto('/sessions/new');
  await settle(page, true);
  await expectNoViolations(page);
  // A refused launch: the summary and the error next to the field.
  await page.getByLabel('Mount directory', { exact: true }).fill('/etc/x');
  await page.getByRole('button', { name: 'Start session', exact: true }).click();
  await expect(page.locator('.error-summary[role=alert]')).toContainText('/etc');
  await settle(page, true);
  await expectNoViolations(page);
  await launchDemo(page, true, 'API_TOKEN', 'API_TOKEN');
  await expect(sessionCard(page).locator('.status')).toHaveText('Running');
  await page.goto(`/sessions?output=${await sessionCard(page).getAttribute('data-session')}`);
  await expect(page.locator('.output pre')).toBeVisible();
  await settle(page, true);
  await expectNoViolations(page);
  await sessionCard(page).getByRole('button', { name: /^Stop demo session started / }).click();
  await expect(sessionCard(page).locator('.status')).toHaveText('Stopped');
});

test('the sign-in and sign-up pages have no WCAG 2.x A/AA violations', async ({ page }) => {
  for (const path of ['/login', '/signup', '/']) {
    await page.goto(path);
    await expectNoViolations(page);
  }
});

