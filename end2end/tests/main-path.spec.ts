import { test } from '@playwright/test';
import { mainPath } from './helpers';

// The same path twice: the app must work as plain HTML forms, and hydrated.

test.describe('with JavaScript', () => {
  test.use({ javaScriptEnabled: true });

  test('sign up, sign in, add, replace, reject a bad name and delete a secret', async ({ page }) => {
    await mainPath(page, { javaScript: true });
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('sign up, sign in, add, replace, reject a bad name and delete a secret', async ({ page }) => {
    await mainPath(page, { javaScript: false });
  });
});
