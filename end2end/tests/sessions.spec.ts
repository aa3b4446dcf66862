import { test } from '@playwright/test';
import { sessionsPath } from './sessions-path';

// The same sessions path twice: as plain HTML forms, and hydrated.

test.describe('with JavaScript', () => {
  test.use({ javaScriptEnabled: true });

  test('launch the demo with a variable and a file, read its hashes, stop it by keyboard', async ({ page }) => {
    await sessionsPath(page, { javaScript: true });
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('launch the demo with a variable and a file, read its hashes, stop it by keyboard', async ({ page }) => {
    await sessionsPath(page, { javaScript: false });
  });
});
