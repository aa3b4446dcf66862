// The sessions path, run with and without JavaScript by sessions.spec.ts: add two secrets, launch
// the demo environment with one as a variable and one as a file, see the session with both names,
// read its output (hashes, never values), and stop it by keyboard alone.

import { expect, type Locator, type Page } from '@playwright/test';
import { createHash } from 'node:crypto';
import {
  addSecret,
  expectHtmlLacks,
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

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The card of the newest session of `environment`. */
export function sessionCard(page: Page, environment = 'demo'): Locator {
  return page.locator('article.session', { has: page.getByRole('heading', { name: new RegExp(`^${environment}\\b`) }) }).first();
}

export async function launchDemo(page: Page, js: boolean, envName: string, fileName: string): Promise<void> {
  await page.goto('/sessions/new');
  await settle(page, js);
  await expect(page.getByRole('heading', { name: 'Start a session', level: 1 })).toBeVisible();
  // Nothing is chosen by default.
  await expect(page.locator('table.choices input[type=checkbox]:checked')).toHaveCount(0);
  await page.getByLabel('Environment', { exact: true }).selectOption('demo');
  await page.getByRole('checkbox', { name: envName, exact: true }).check();
  await page.getByRole('checkbox', { name: fileName, exact: true }).check();
  await page.getByLabel(`How ${fileName} is given`, { exact: true }).selectOption('file');
  await expect(page.getByLabel('Mount directory', { exact: true })).toHaveValue('/secrets');
  await page.getByRole('button', { name: 'Start session', exact: true }).click();
  await expectPath(page, '/sessions');
}

export async function sessionsPath(page: Page, opts: { javaScript: boolean }): Promise<void> {
  const js = opts.javaScript;
  const watch = new PageWatch(page);
  if (js) {
    await trackHydration(page);
  }
  const envName = `DB_PASSWORD_${token(2).toUpperCase()}`;
  const fileName = `TLS_KEY_${token(2).toUpperCase()}`;
  const envValue = sentinel();
  const fileValue = `${sentinel()}\nsecond line`;

  // 1. Two secrets.
  await signUp(page, uniqueUsername(), uniquePassword(), js);
  await settle(page, js);
  await addSecret(page, { name: envName, value: envValue });
  await expect(notice(page)).toHaveText(`Secret ${envName} added.`);
  await settle(page, js);
  await addSecret(page, { name: fileName, value: fileValue });
  await expect(notice(page)).toHaveText(`Secret ${fileName} added.`);

  // 2. Launch the demo with one as a variable and one as a file.
  await launchDemo(page, js, envName, fileName);
  await expect(notice(page)).toHaveText('Session started (demo).');

  // 3. Running, with both names and their modes.
  const card = sessionCard(page);
  await expect(card.locator('.status')).toHaveText('Running');
  await expect(card.locator('ul.injected li')).toHaveText([
    `${envName} as environment variable ${envName}`,
    `${fileName} as file $SECRETS_DIR/${fileName}`,
  ]);
  await settle(page, js);

  // 4. Its output proves the injection with hashes; the values appear nowhere.
  const output = page.locator('.output pre');
  await expect(async () => {
    await sessionCard(page).getByRole('link', { name: /^Show output of demo session started / }).click();
    await expectPath(page, '/sessions');
    await expect(output).toContainText('ready', { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  await expect(output).toContainText(`env  ${envName} sha256=${sha256(envValue)}`);
  await expect(output).toContainText(`file ${fileName} sha256=${sha256(fileValue)}`);
  await settle(page, js);
  await expectHtmlLacks(page, envValue, fileValue.split('\n')[0]);

  // 5. Stop it by keyboard alone: from "Show output", Tab reaches Stop, Enter presses it.
  const show = sessionCard(page).getByRole('link', { name: /^Show output of demo session started / });
  await show.focus();
  await page.keyboard.press('Tab');
  const stop = sessionCard(page).getByRole('button', { name: /^Stop demo session started / });
  await expect(stop).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(notice(page)).toHaveText('Session demo stopped.');
  await expect(sessionCard(page).locator('.status')).toHaveText('Stopped');
  await expect(sessionCard(page).getByRole('button', { name: /^Stop demo session started / })).toHaveCount(0);

  await settle(page, js);
  await watch.expectNoResponseContains(envValue, fileValue.split('\n')[0]);
  watch.expectNoErrors();
}
