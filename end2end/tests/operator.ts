// What several specs share beyond the browser: operator commands run against the test server's
// database and keys, and moving focus by keyboard alone.

import { expect, type Locator, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const bin = path.resolve(__dirname, '..', process.env.LOCKBOX_E2E_BIN ?? '../target/release/lockbox');

/** Runs an operator command against the test server's database and keys. */
export function lockbox(args: string[], input?: string): string {
  return execFileSync(bin, args, {
    input,
    encoding: 'utf8',
    env: { ...process.env, LOCKBOX_DATA_DIR: process.env.LOCKBOX_E2E_DATA_DIR ?? '' },
  });
}

/** Moves focus forward with Tab until `locator` has it (at most 150 presses: admin lists grow
 * as the specs sharing one server add accounts and projects). */
export async function tabTo(page: Page, locator: Locator): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (await locator.evaluate((el) => el === document.activeElement)) {
      return;
    }
    await page.keyboard.press('Tab');
  }
  await expect(locator).toBeFocused();
}
