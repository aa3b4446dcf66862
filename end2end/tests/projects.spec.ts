// Projects and namespace secrets, the Run:AI way, on the embedded default: an admin creates a
// project, gives it a namespace secret and adds a member from the command line; the member, by
// keyboard alone, launches the demo into that project with a `SECRET:` reference and one of
// their own secrets, and sees the session's project and both values' hashes. With and without
// JavaScript.

import { expect, test, type Page } from '@playwright/test';
import { createHash } from 'node:crypto';
import {
  addSecret,
  expectPath,
  notice,
  PageWatch,
  sentinel,
  settle,
  signUp,
  token,
  trackHydration,
  uniquePassword,
  uniqueUsername,
} from './helpers';
import { lockbox, tabTo } from './operator';
import { sessionCard } from './sessions-path';

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

async function projectPath(page: Page, js: boolean): Promise<void> {
  const watch = new PageWatch(page);
  if (js) {
    await trackHydration(page);
  }
  const project = `team-${token(3)}`;
  const shared = `db-${token(3)}`;
  const sharedValue = sentinel();
  const mine = `TOKEN_${token(2).toUpperCase()}`;
  const mineValue = sentinel();
  const username = uniqueUsername();

  // The member's account, with one secret of their own.
  await signUp(page, username, uniquePassword(), js);
  await settle(page, js);
  await addSecret(page, { name: mine, value: mineValue });
  await expect(notice(page)).toHaveText(`Secret ${mine} added.`);

  // The admin, on the server's host.
  expect(lockbox(['projects', 'create', project, '--description', 'e2e team'])).toContain(project);
  lockbox(['namespace-secrets', 'set', '--project', project, shared, 'password=-'], sharedValue);
  lockbox(['projects', 'add-member', project, username]);

  // The member launches into the project by keyboard alone.
  await page.goto('/sessions/new');
  await settle(page, js);
  await tabTo(page, page.getByLabel('Environment', { exact: true }));
  await page.keyboard.type('demo');
  await expect(page.getByLabel('Environment', { exact: true })).toHaveValue('demo');
  await tabTo(page, page.getByLabel('Project', { exact: true }));
  await page.keyboard.type(project);
  await expect(page.getByLabel('Project', { exact: true })).toHaveValue(project);
  await tabTo(page, page.getByRole('checkbox', { name: mine, exact: true }));
  await page.keyboard.press('Space');
  await tabTo(page, page.getByLabel('Extra environment variables', { exact: true }));
  await page.keyboard.type(`SHARED_PASSWORD=SECRET:${shared},password`);
  await tabTo(page, page.getByRole('button', { name: 'Start session', exact: true }));
  await page.keyboard.press('Enter');
  await expectPath(page, '/sessions');
  await expect(notice(page)).toHaveText('Session started (demo).');

  const card = sessionCard(page);
  await expect(card.locator('dd.project')).toHaveText(project);
  await expect(card.locator('.status')).toHaveText('Running');
  const output = page.locator('.output pre');
  await expect(async () => {
    await sessionCard(page).getByRole('link', { name: /^Show output of demo session started / }).click();
    await expect(output).toContainText('ready', { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  await expect(output).toContainText(`env  ${mine} sha256=${sha256(mineValue)}`);
  await expect(output).toContainText(`env  SHARED_PASSWORD sha256=${sha256(sharedValue)}`);

  // Stop it, still by keyboard.
  await tabTo(page, sessionCard(page).getByRole('button', { name: /^Stop demo session started / }));
  await page.keyboard.press('Enter');
  await expect(notice(page)).toHaveText('Session demo stopped.');
  await settle(page, js);
  await watch.expectNoResponseContains(sharedValue, mineValue);
  watch.expectNoErrors();
}

test.describe('with JavaScript', () => {
  test.use({ javaScriptEnabled: true });
  test('a member launches into a project with a SECRET: reference, by keyboard', async ({ page }) => {
    await projectPath(page, true);
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });
  test('a member launches into a project with a SECRET: reference, by keyboard', async ({ page }) => {
    await projectPath(page, false);
  });
});
