// The admin view by keyboard alone: an admin (made on the server's host) reaches the audit log
// from the header, filters it with a query line, sees a refused query at its field, checks the
// chain; then starts a master-key rotation from the keys page (the server uses the generated
// key file), confirmed in a dialog that keeps focus and closes on Escape (without JavaScript on
// the page itself), sees the new active key and the progress, and finds the rotation in the
// audit log. A user who is not an admin gets the plain "not allowed" page with status 403. axe
// finds no WCAG 2.x A/AA violation on the audit and keys pages, with and without an error or
// the dialog shown. With and without JavaScript.

import { expect, test, type Page } from '@playwright/test';
import { expectPath, notice, settle, signUp, trackHydration, uniquePassword, uniqueUsername } from './helpers';
import { signInAsNewAdmin, tabTo } from './operator';
import { expectNoViolations } from './axe';

async function auditJourney(page: Page, js: boolean): Promise<void> {
  if (js) {
    await trackHydration(page);
  }
  const { admin } = await signInAsNewAdmin(page, js);

  // The header's Admin link, by keyboard.
  const adminLink = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin', exact: true });
  await tabTo(page, adminLink);
  await page.keyboard.press('Enter');
  // The overview first, then its section link, by keyboard.
  await expectPath(page, '/admin');
  await settle(page, js);
  const sections = page.getByRole('navigation', { name: 'Admin sections' });
  await expect(sections).toBeVisible();
  await tabTo(page, sections.getByRole('link', { name: 'Audit log', exact: true }));
  await page.keyboard.press('Enter');
  await expectPath(page, '/admin/audit');
  await settle(page, js);
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

  await rotationJourney(page, js, admin);
}

/** The active key id the keys page shows. */
async function activeKeyId(page: Page): Promise<string> {
  return (await page.locator('section[aria-labelledby="progress-heading"] dd code').first().innerText()).trim();
}

/** Waits (reloading the page; not a step of the journey) until no rotation is rewrapping: the
 * journey runs twice against one server, and the other run's rotation may still be going. */
async function untilNoRotation(page: Page, js: boolean): Promise<void> {
  await expect
    .poll(
      async () => {
        await page.goto('/admin/keys');
        return page.getByText('No rotation needed', { exact: false }).count();
      },
      { timeout: 30_000, message: 'the rotation completes' },
    )
    .toBeGreaterThan(0);
  await settle(page, js);
}

/** From the audit log's page: the keys page, a rotation started and confirmed, all by keyboard. */
async function rotationJourney(page: Page, js: boolean, admin: string): Promise<void> {
  const sections = page.getByRole('navigation', { name: 'Admin sections' });
  await tabTo(page, sections.getByRole('link', { name: 'Keys', exact: true }));
  await page.keyboard.press('Enter');
  await expectPath(page, '/admin/keys');
  await settle(page, js);
  await expect(page.getByRole('heading', { name: 'Encryption keys', level: 1 })).toBeVisible();
  await untilNoRotation(page, js);
  const before = await activeKeyId(page);
  if (js) await expectNoViolations(page);

  const title = 'Start a master-key rotation?';
  const start = page.getByRole('link', { name: 'Start a rotation', exact: true });
  await tabTo(page, start);
  await page.keyboard.press('Enter');
  if (js) {
    const dialog = page.getByRole('dialog', { name: title });
    const cancel = dialog.getByRole('button', { name: 'Cancel', exact: true });
    const confirm = dialog.getByRole('button', { name: 'Start the rotation', exact: true });
    await expect(dialog).toBeVisible();
    await expect(cancel).toBeFocused();
    await expectNoViolations(page);
    // Escape closes it and gives focus back to the link; nothing started.
    await page.keyboard.press('Escape');
    await expect(dialog).toBeHidden();
    await expect(start).toBeFocused();
    expect(await activeKeyId(page)).toBe(before);
    // Open again: focus stays inside, both ways round.
    await page.keyboard.press('Enter');
    await expect(dialog).toBeVisible();
    await expect(cancel).toBeFocused();
    await page.keyboard.press('Tab');
    await expect(confirm).toBeFocused();
    await page.keyboard.press('Tab');
    await expect(cancel).toBeFocused();
    await page.keyboard.press('Shift+Tab');
    await expect(confirm).toBeFocused();
    await page.keyboard.press('Shift+Tab');
    await expect(cancel).toBeFocused();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
  } else {
    // The question on a page of its own, whose form posts.
    await expect(page).toHaveURL(/\/admin\/keys\?confirm=rotate$/);
    await expect(page.getByRole('heading', { name: title, level: 2 })).toBeVisible();
    await tabTo(page, page.getByRole('button', { name: 'Start the rotation', exact: true }));
    await page.keyboard.press('Enter');
  }
  await expectPath(page, '/admin/keys');
  await expect(notice(page)).toContainText('Rotation started: the active key id is now');
  await settle(page, js);
  const after = await activeKeyId(page);
  expect(after).not.toBe(before);
  await expect(notice(page)).toContainText(after);
  await expect(page.locator('#rotation-progress')).toBeVisible();
  if (js) await expectNoViolations(page);

  // The audit log names who asked.
  await tabTo(page, sections.getByRole('link', { name: 'Audit log', exact: true }));
  await page.keyboard.press('Enter');
  await expectPath(page, '/admin/audit');
  await settle(page, js);
  const search = page.getByLabel('Filter events', { exact: true });
  await tabTo(page, search);
  await page.keyboard.type(`actor:${admin} action:key.rotation.requested`);
  await page.keyboard.press('Enter');
  await expect(page.locator('table.audit tbody tr').first()).toContainText('key.rotation.requested');
  await expect(page.locator('table.audit tbody tr').first()).toContainText(after);
  await untilNoRotation(page, js);
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
    test('an admin filters the audit log, checks its chain and starts a key rotation by keyboard', async ({ page }) => {
      await auditJourney(page, js);
    });
    test('anyone else gets "not allowed" with status 403', async ({ page }) => {
      await notAllowed(page, js);
    });
  });
}
