import * as fs from 'node:fs';

// Removes the temporary data directory that playwright.config.ts made for the server, unless the
// directory was given by LOCKBOX_E2E_DATA_DIR or LOCKBOX_E2E_KEEP_DATA is set (to look at it after a run).
export default async function globalTeardown(): Promise<void> {
  const dir = process.env.LOCKBOX_E2E_DATA_DIR;
  if (dir && process.env.LOCKBOX_E2E_DATA_DIR_TEMP === '1' && !process.env.LOCKBOX_E2E_KEEP_DATA) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
