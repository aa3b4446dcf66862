import { defineConfig } from '@playwright/test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// Browser end-to-end tests for Lockbox. They drive Debian's Chromium (no browser download) against
// the release server built by `cargo leptos build --release`.
//
// Overrides (all optional):
//   LOCKBOX_E2E_BIN       server binary           (default ../target/release/lockbox)
//   LOCKBOX_E2E_SITE_ROOT site files              (default ../target/site)
//   LOCKBOX_E2E_PORT      port on 127.0.0.1        (default 3917)
//   LOCKBOX_E2E_CHROMIUM  browser executable      (default /usr/bin/chromium)
//   LOCKBOX_E2E_DATA_DIR  server data directory   (default: a fresh temporary directory)

const repoRoot = path.resolve(__dirname, '..');
const bin = path.resolve(__dirname, process.env.LOCKBOX_E2E_BIN ?? path.join(repoRoot, 'target/release/lockbox'));
const siteRoot = path.resolve(__dirname, process.env.LOCKBOX_E2E_SITE_ROOT ?? path.join(repoRoot, 'target/site'));
const port = process.env.LOCKBOX_E2E_PORT ?? '3917';
const baseURL = `http://127.0.0.1:${port}`;

// The config is loaded by the runner and again by each worker; the workers inherit the runner's
// environment, so the data directory is created once and shared through the variable.
if (!process.env.LOCKBOX_E2E_DATA_DIR) {
  process.env.LOCKBOX_E2E_DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'lockbox-e2e-'));
  process.env.LOCKBOX_E2E_DATA_DIR_TEMP = '1';
}
const dataDir = process.env.LOCKBOX_E2E_DATA_DIR;

export default defineConfig({
  testDir: './tests',
  // 2 cores: one browser at a time. Tests stay independent by signing up a fresh user each.
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: 'list',
  globalTeardown: './global-teardown.ts',
  use: {
    baseURL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        browserName: 'chromium',
        launchOptions: {
          executablePath: process.env.LOCKBOX_E2E_CHROMIUM ?? '/usr/bin/chromium',
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
          ],
        },
      },
    },
  ],
  webServer: {
    command: `"${bin}" serve`,
    url: `${baseURL}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      LOCKBOX_LISTEN: `127.0.0.1:${port}`,
      LOCKBOX_DATA_DIR: dataDir,
      LOCKBOX_SITE_ROOT: siteRoot,
      LOCKBOX_ALLOW_SIGNUP: 'true',
    },
  },
});
