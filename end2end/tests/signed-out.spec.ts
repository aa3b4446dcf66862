import { expect, test } from '@playwright/test';
import { expectPath } from './helpers';

test.describe('signed out', () => {
  for (const javaScript of [true, false]) {
    test.describe(javaScript ? 'with JavaScript' : 'without JavaScript', () => {
      test.use({ javaScriptEnabled: javaScript });

      test('visiting /settings/secrets lands on /login', async ({ page }) => {
        await page.goto('/settings/secrets');
        await expectPath(page, '/login');
        await expect(page.getByRole('heading', { name: 'Sign in', level: 1 })).toBeVisible();
        await expect(page.getByLabel('Username', { exact: true })).toBeVisible();
        await expect(page.locator('.whoami')).toHaveCount(0);
        await expect(page.locator('table.secrets')).toHaveCount(0);
      });
    });
  }
});
