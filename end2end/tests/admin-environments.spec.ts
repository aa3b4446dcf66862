// An admin adds an environment by keyboard alone: a refused port is shown at its field (and
// axe finds nothing wrong with the error shown), the corrected one is listed, and removing it
// asks first. With and without JavaScript.

import { expect, test, type Page } from '@playwright/test';
import { settle, token, trackHydration } from './helpers';
import { signInAsNewAdmin, tabTo } from './operator';
import { expectNoViolations } from './axe';

async function environmentsJourney(page: Page, js: boolean): Promise<void> {
  if (js) {
    await trackHydration(page);
  }
  await signInAsNewAdmin(page, js);
  await page.goto('/admin/environments');
  await settle(page, js);
  const add = page.getByRole('region', { name: 'Add an environment' });
  const name = `env-${token(4)}`;

  async function fill(port: string) {
    await tabTo(page, add.getByRole('textbox', { name: 'Name', exact: true }));
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.type(name);
    await tabTo(page, add.getByRole('textbox', { name: 'Image', exact: true }));
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.type('quay.io/jupyter/minimal-notebook:2025-10-20');
    await tabTo(page, add.getByRole('textbox', { name: 'Port', exact: true }));
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.type(port);
    await tabTo(page, add.getByRole('button', { name: 'Add environment', exact: true }));
    await page.keyboard.press('Enter');
  }

  // A port out of range: refused at its field, nothing added.
  await fill('70000');
  await expect(page.getByRole('textbox', { name: 'Port', exact: true }).first()).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator(`tr[data-environment="${name}"]`)).toHaveCount(0);
  await settle(page, js);
  if (js) {
    await expectNoViolations(page);
  }

  await fill('8888');
  await expect(page.locator(`tr[data-environment="${name}"]`)).toContainText('8888');
  await settle(page, js);

  // Removing asks first, on a confirmation of its own.
  await tabTo(page, page.getByRole('link', { name: `Remove ${name}`, exact: true }));
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: `Remove ${name}?` })).toBeVisible();
  await tabTo(page, page.getByRole('button', { name: `Remove ${name} now`, exact: true }));
  await page.keyboard.press('Enter');
  await expect(page.locator(`tr[data-environment="${name}"]`)).toHaveCount(0);
}

for (const js of [true, false]) {
  test.describe(js ? 'with JavaScript' : 'without JavaScript', () => {
    test.use({ javaScriptEnabled: js });
    test('an admin adds and removes an environment by keyboard', async ({ page }) => {
      await environmentsJourney(page, js);
    });
  });
}
