// Every admin page, reached through the "Admin sections" navigation, has its heading and no
// WCAG 2.x A/AA violation found by axe, as it first shows and with an error shown.

import { expect, test } from '@playwright/test';
import { expectPath, settle, token, trackHydration } from './helpers';
import { lockbox, signInAsNewAdmin } from './operator';
import { expectNoViolations } from './axe';

// Each section, the page's heading, and an address that shows an error on it (none for the
// keys page: its one error, a rotation refused while another rewraps, needs a server of its own,
// so admin-keys-refused.spec.ts checks it).
const SECTIONS: Array<[string, string, string | null]> = [
  ['Users', '/admin/users', `/admin/users?q=${'x'.repeat(40)}`],
  ['Sessions', '/admin/sessions', '/admin/sessions?status=sideways'],
  ['Projects', '/admin/projects', '/admin/projects?delete=no-such-project'],
  ['Environments', '/admin/environments', '/admin/environments?edit=no-such-environment'],
  ['Cluster secrets', '/admin/cluster-secrets', '/admin/cluster-secrets?state=sideways'],
  ['Tokens', '/admin/tokens', '/admin/tokens?after=not-a-cursor'],
  ['Audit log', '/admin/audit', '/admin/audit?q=colour:red'],
  ['Keys', '/admin/keys', null],
];

test('every admin page passes axe, with and without an error shown', async ({ page }) => {
  await trackHydration(page);
  const { admin } = await signInAsNewAdmin(page, true);
  // A project with a member, so the project page has a members table to check too.
  const project = `axe-${token(3)}`;
  lockbox(['projects', 'create', project, '--description', 'axe check']);
  lockbox(['projects', 'add-member', project, admin]);
  for (const [name, path, withError] of SECTIONS) {
    await page.goto('/admin/audit');
    await settle(page, true);
    const nav = page.getByRole('navigation', { name: 'Admin sections' });
    await nav.getByRole('link', { name, exact: true }).click();
    await expectPath(page, path);
    await settle(page, true);
    await expect(page.getByRole('heading', { level: 1 }).first()).toBeVisible();
    await expect(nav.getByRole('link', { name, exact: true })).toHaveAttribute('aria-current', 'page');
    await expectNoViolations(page);
    if (withError === null) {
      continue;
    }
    await page.goto(withError);
    await settle(page, true);
    await expect(page.locator('[role="alert"], [aria-invalid="true"]').first()).toBeVisible();
    await expectNoViolations(page);
  }
  // A project's own page, as first shown and with an error shown.
  await page.goto(`/admin/projects/${project}`);
  await settle(page, true);
  await expect(page.getByRole('heading', { name: `Project ${project}`, level: 1 })).toBeVisible();
  await expectNoViolations(page);
  await page.goto(`/admin/projects/${project}?remove=no-such-member`);
  await settle(page, true);
  await expect(page.locator('[role="alert"]').first()).toBeVisible();
  await expectNoViolations(page);
});
