import AxeBuilder from '@axe-core/playwright';
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

// WCAG 2.x level A and AA rules, as axe-core tags them.
const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];

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

test('the sign-in and sign-up pages have no WCAG 2.x A/AA violations', async ({ page }) => {
  for (const path of ['/login', '/signup', '/']) {
    await page.goto(path);
    await expectNoViolations(page);
  }
});

async function expectNoViolations(page: import('@playwright/test').Page) {
  const results = await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze();
  const summary = results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    targets: v.nodes.map((n) => n.target.join(' ')),
  }));
  expect(summary).toEqual([]);
}
