// Following a session's output: with JavaScript, "Follow output" appends what the session prints
// without a reload, by keyboard, and "Pause following" stops it; without JavaScript the button is
// not offered and the static output is shown.

import { expect, test, type Page } from '@playwright/test';
import { expectPath, settle, signUp, token, trackHydration, uniquePassword, uniqueUsername } from './helpers';
import { sessionCard } from './sessions-path';
import { lockbox, tabTo } from './operator';

/** The highest "tick N" in the shown output, or 0. */
async function lastTick(page: Page): Promise<number> {
  const text = (await page.locator('.output pre').textContent()) ?? '';
  const ticks = [...text.matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
  return ticks.length ? Math.max(...ticks) : 0;
}

async function startTicker(page: Page, js: boolean): Promise<string> {
  const env = `ticker-${token(3)}`;
  lockbox([
    'environments', 'add', env, '--image', 'busybox',
    '--local-command', 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.3; done',
  ]);
  await signUp(page, uniqueUsername(), uniquePassword(), js);
  await page.goto('/sessions/new');
  await settle(page, js);
  await page.getByLabel('Environment', { exact: true }).selectOption(env);
  await page.getByRole('button', { name: 'Start session', exact: true }).click();
  await expectPath(page, '/sessions');
  await expect(sessionCard(page, env).locator('.status')).toHaveText('Running');
  await settle(page, js);
  await sessionCard(page, env).getByRole('link', { name: new RegExp(`^Show output of ${env} session started `) }).click();
  await expectPath(page, '/sessions');
  await settle(page, js);
  return env;
}

test('with JavaScript, the output is followed without a reload, by keyboard, until paused', async ({ page }) => {
  await trackHydration(page);
  const env = await startTicker(page, true);
  await expect.poll(() => lastTick(page)).toBeGreaterThan(0);
  let navigations = 0;
  page.on('framenavigated', () => navigations++);
  const seen = await lastTick(page);

  const follow = page.getByRole('button', { name: 'Follow output', exact: true });
  await tabTo(page, follow);
  await page.keyboard.press('Enter');
  await expect(page.getByRole('status').filter({ hasText: 'Following the output.' })).toHaveCount(1);
  // New lines arrive on the page as the session prints them.
  await expect.poll(() => lastTick(page), { timeout: 10_000 }).toBeGreaterThan(seen + 3);
  expect(navigations).toBe(0);

  const pause = page.getByRole('button', { name: 'Pause following', exact: true });
  await expect(pause).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('button', { name: 'Follow output', exact: true })).toBeVisible();
  // Paused: nothing more is appended (one answer may still have been on its way).
  await page.waitForTimeout(1_500);
  const paused = await lastTick(page);
  await page.waitForTimeout(1_500);
  expect(await lastTick(page)).toBe(paused);

  await sessionCard(page, env).getByRole('button', { name: new RegExp(`^Stop ${env} session started `) }).click();
  await expect(sessionCard(page, env).locator('.status')).toHaveText('Stopped');
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the output is shown as it was, and no follow button is offered', async ({ page }) => {
    const env = await startTicker(page, false);
    await expect.poll(async () => {
      await page.reload();
      return lastTick(page);
    }).toBeGreaterThan(0);
    await expect(page.getByRole('button', { name: 'Follow output' })).toHaveCount(0);
    await sessionCard(page, env).getByRole('button', { name: new RegExp(`^Stop ${env} session started `) }).click();
    await expect(sessionCard(page, env).locator('.status')).toHaveText('Stopped');
  });
});
