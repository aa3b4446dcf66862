// What several specs share beyond the browser: operator commands run against the test server's
// database and keys, and moving focus by keyboard alone.

import { expect, type Locator, type Page } from '@playwright/test';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expectPath, settle, signIn, uniquePassword, uniqueUsername } from './helpers';

const bin = path.resolve(__dirname, '..', process.env.LOCKBOX_E2E_BIN ?? '../target/release/lockbox');

/** Runs an operator command against the test server's database and keys (or those in
 * `dataDir`). */
export function lockbox(args: string[], input?: string, dataDir?: string): string {
  return execFileSync(bin, args, {
    input,
    encoding: 'utf8',
    env: { ...process.env, LOCKBOX_DATA_DIR: dataDir ?? process.env.LOCKBOX_E2E_DATA_DIR ?? '' },
  });
}

/** A server of a spec's own, for a state the shared one must not be left in. */
export interface OwnServer {
  baseURL: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** Starts the server binary on `port` with a fresh data directory and `env` added, and waits
 * until it answers /healthz. */
export async function startOwnServer(port: number, env: Record<string, string>): Promise<OwnServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lockbox-e2e-own-'));
  const baseURL = `http://127.0.0.1:${port}`;
  const siteRoot = path.resolve(__dirname, '..', process.env.LOCKBOX_E2E_SITE_ROOT ?? '../target/site');
  const child = spawn(bin, ['serve'], {
    env: { ...process.env, LOCKBOX_LISTEN: `127.0.0.1:${port}`, LOCKBOX_DATA_DIR: dataDir, LOCKBOX_SITE_ROOT: siteRoot, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(`${baseURL}/healthz`)).ok) return { baseURL, dataDir, stop };
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`the spec's own server did not start on ${baseURL}: ${stderr}`);
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

/** Makes an admin on the server's host (as an operator would), signs in as them and waits for
 * the secrets page to settle. Returns the admin's name and password. */
export async function signInAsNewAdmin(page: Page, js: boolean): Promise<{ admin: string; password: string }> {
  const admin = uniqueUsername();
  const password = uniquePassword();
  lockbox(['admin', 'create-user', admin, '--admin'], `${password}\n`);
  await signIn(page, admin, password, js);
  await expectPath(page, '/settings/secrets');
  await settle(page, js);
  return { admin, password };
}
