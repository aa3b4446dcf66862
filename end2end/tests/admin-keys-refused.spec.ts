// A rotation refused: an admin confirms a rotation after another has started (a second admin,
// or a page left open), while that one is still rewrapping. The keys page shows why, nothing
// changes, and axe finds no violation with the error shown. By keyboard, with and without
// JavaScript.
//
// It runs on a server of its own: a rotation kept rewrapping (one key per batch, a long pause
// between batches) must not hold up the rotations of the other specs on the shared server.

import { expect, test, type Page } from '@playwright/test';
import { expectPath, settle, signIn, trackHydration, uniquePassword, uniqueUsername } from './helpers';
import { lockbox, startOwnServer, tabTo, type OwnServer } from './operator';
import { expectNoViolations } from './axe';

const port = Number(process.env.LOCKBOX_E2E_PORT ?? '3917') + 1;

async function activeKeyId(page: Page): Promise<string> {
  return (await page.locator('section[aria-labelledby="progress-heading"] dd code').first().innerText()).trim();
}

/** Starts a rotation as another admin would, outside this page (the server function's own
 * POST, same-origin, with this admin's cookie). */
async function rotateElsewhere(page: Page, origin: string): Promise<void> {
  const res = await page.request.post('/api/admin/keys/rotate', { headers: { Origin: origin } });
  expect(res.status()).toBe(200);
}

async function refusedJourney(page: Page, server: OwnServer, js: boolean): Promise<void> {
  if (js) {
    await trackHydration(page);
  }
  const admin = uniqueUsername();
  const password = uniquePassword();
  lockbox(['admin', 'create-user', admin, '--admin'], `${password}\n`, server.dataDir);
  // Another account, so more than one data key waits to be rewrapped after a rotation.
  lockbox(['admin', 'create-user', uniqueUsername()], `${uniquePassword()}\n`, server.dataDir);
  await signIn(page, admin, password, js);
  await expectPath(page, '/settings/secrets');
  await page.goto('/admin/keys');
  await settle(page, js);
  await expect(page.getByText('No rotation needed', { exact: false })).toBeVisible();
  const before = await activeKeyId(page);

  const start = page.getByRole('link', { name: 'Start a rotation', exact: true });
  await tabTo(page, start);
  await page.keyboard.press('Enter');
  const confirm = js
    ? page.getByRole('dialog', { name: 'Start a master-key rotation?' }).getByRole('button', { name: 'Start the rotation', exact: true })
    : page.getByRole('button', { name: 'Start the rotation', exact: true });
  await expect(confirm).toBeVisible();

  // Meanwhile a rotation starts elsewhere, and keeps rewrapping (one key a minute here).
  await rotateElsewhere(page, server.baseURL);

  await tabTo(page, confirm);
  await page.keyboard.press('Enter');
  await expectPath(page, '/admin/keys');
  await settle(page, js);
  const error = page.getByRole('alert').filter({ hasText: 'still rewrapping' });
  await expect(error).toBeVisible();
  await expect(error).toContainText('Nothing was changed.');
  if (js) await expectNoViolations(page);
  // The key the other rotation made stays active: this confirmation changed nothing.
  const after = await activeKeyId(page);
  expect(after).not.toBe(before);
  await page.goto('/admin/keys');
  await settle(page, js);
  expect(await activeKeyId(page)).toBe(after);
  // And no rotation can be started until the rewrap has finished.
  await expect(page.getByRole('link', { name: 'Start a rotation', exact: true })).toHaveCount(0);
  await expect(page.getByText('A rotation is still rewrapping')).toBeVisible();
}

for (const js of [true, false]) {
  test.describe(js ? 'with JavaScript' : 'without JavaScript', () => {
    test.use({ javaScriptEnabled: js });
    let server: OwnServer;
    test.beforeEach(async () => {
      server = await startOwnServer(port, { LOCKBOX_REWRAP_BATCH: '1', LOCKBOX_REWRAP_PAUSE_MS: '120000' });
    });
    test.afterEach(async () => {
      await server.stop();
    });
    test('a rotation confirmed while another is rewrapping is refused, naming why', async ({ browser }) => {
      const context = await browser.newContext({ baseURL: server.baseURL, javaScriptEnabled: js });
      try {
        await refusedJourney(await context.newPage(), server, js);
      } finally {
        await context.close();
      }
    });
  });
}
