// The personal access tokens page: create a token by keyboard, copy it, use it, revoke it; the
// same without JavaScript (the token comes back on a page of its own); axe on the page.

import { expect, test, type Page } from '@playwright/test';
import { settle, signUp, token, trackHydration, uniquePassword, uniqueUsername } from './helpers';
import { expectNoViolations } from './axe';

const TOKEN_SHAPE = /^lbx_pat_[A-Za-z0-9_-]{43}$/;

/** Calls the API with the token. `page.request` also sends the page's cookies: the server must
 *  ignore them for a token request, which this checks along the way. */
async function apiStatus(page: Page, bearer: string, path: string): Promise<number> {
  const response = await page.request.fetch(path, {
    method: 'POST',
    headers: { Authorization: `Bearer ${bearer}` },
    form: {},
  });
  return response.status();
}

test('create a token by keyboard, copy it, use it, revoke it (JavaScript)', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await trackHydration(page);
  await signUp(page, uniqueUsername(), uniquePassword(), true);
  await page.goto('/settings/tokens');
  await settle(page, true);
  await expect(page.getByRole('heading', { name: 'Personal access tokens', level: 1 })).toBeVisible();
  await expectNoViolations(page);

  const name = `laptop-${token(3)}`;
  // The form by keyboard: name, expiry, scopes (Space ticks a box), Enter on the button.
  const form = page.getByRole('region', { name: 'Create a token' });
  await form.getByLabel('Name', { exact: true }).focus();
  await page.keyboard.type(name);
  await page.keyboard.press('Tab');
  await expect(form.getByLabel('Expires after (days)')).toBeFocused();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.type('7');
  await page.keyboard.press('Tab');
  await expect(form.getByRole('checkbox', { name: /secrets:read/ })).toBeFocused();
  await page.keyboard.press('Space');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await expect(form.getByRole('checkbox', { name: /sessions/ })).toBeFocused();
  await page.keyboard.press('Space');
  await page.keyboard.press('Tab');
  await expect(form.getByRole('button', { name: 'Create token' })).toBeFocused();
  await page.keyboard.press('Enter');

  // Shown once, in a read-only field that says so, with a Copy button.
  const once = page.getByRole('region', { name: `Copy your new token ${name} now` });
  await expect(once).toBeVisible();
  const field = once.getByRole('textbox', { name: 'Your new token' });
  await expect(field).toHaveAttribute('readonly', '');
  await expect(once).toContainText('This is the only time the token is shown.');
  const secret = await field.inputValue();
  expect(secret).toMatch(TOKEN_SHAPE);
  await once.getByRole('button', { name: 'Copy' }).focus();
  await page.keyboard.press('Enter');
  await expect(once.getByRole('status')).toHaveText('Copied to the clipboard.');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
  const row = page.locator(`tr[data-token="${name}"]`);
  await expect(row).toContainText('secrets:read');
  await expect(row).toContainText('sessions');
  await expect(row).toContainText(`${secret.slice(0, 12)}…`);
  await expectNoViolations(page);

  // The token works for its scopes only.
  expect(await apiStatus(page, secret, '/api/secrets/list')).toBe(200);
  expect(await apiStatus(page, secret, '/api/sessions/list')).toBe(200);
  expect(await apiStatus(page, secret, '/api/tokens/list')).toBe(401);

  // Revoke by keyboard; it is gone from the list and refused at once.
  await page.goto('/settings/tokens');
  await settle(page, true);
  expect(await page.content()).not.toContain(secret);
  await page.getByRole('button', { name: `Revoke token ${name}` }).focus();
  await page.keyboard.press('Enter');
  await expect(page.locator('p.notice[role=status]')).toHaveText(`Token ${name} revoked.`);
  await expect(page.locator(`tr[data-token="${name}"]`)).toHaveCount(0);
  expect(await apiStatus(page, secret, '/api/secrets/list')).toBe(401);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the token comes back on a page of its own, once', async ({ page }) => {
    await signUp(page, uniqueUsername(), uniquePassword(), false);
    await page.goto('/settings/tokens');
    const name = `nojs-${token(3)}`;
    const form = page.getByRole('region', { name: 'Create a token' });
    await form.getByLabel('Name', { exact: true }).fill(name);
    await form.getByRole('checkbox', { name: /secrets:write/ }).check();
    await form.getByRole('button', { name: 'Create token' }).click();
    await expect(page.getByRole('heading', { name: `Token ${name} created`, level: 1 })).toBeVisible();
    const secret = await page.getByRole('textbox', { name: 'Your new token' }).inputValue();
    expect(secret).toMatch(TOKEN_SHAPE);
    expect(page.url()).not.toContain(secret);
    const cookies = await page.context().cookies();
    expect(cookies.map((c) => c.value).join(' ')).not.toContain(secret);
    // (axe needs JavaScript in the page: it runs on the tokens page in the test above.)
    await page.getByRole('button', { name: 'Done: back to your tokens' }).click();
    await expect(page.locator(`tr[data-token="${name}"]`)).toBeVisible();
    expect(await page.content()).not.toContain(secret);
    expect(await apiStatus(page, secret, '/api/secrets/list')).toBe(403);
    await page.getByRole('button', { name: `Revoke token ${name}` }).click();
    await expect(page.locator('p.notice[role=status]')).toHaveText(`Token ${name} revoked.`);
  });
});
