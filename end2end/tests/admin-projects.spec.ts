// An admin manages a project by keyboard alone: creates it, opens its page, adds a member,
// removes the member after a confirmation, and deletes the project after a confirmation (with
// JavaScript a dialog that closes on Escape and gives focus back; without it the question on
// the page itself). With and without JavaScript.

import { expect, test, type Page } from '@playwright/test';
import { expectPath, notice, settle, token, trackHydration, uniquePassword, uniqueUsername } from './helpers';
import { lockbox, signInAsNewAdmin, tabTo } from './operator';

/** Confirms the question `title` that the focused link asked, by keyboard. */
async function confirmByKeyboard(page: Page, js: boolean, title: string, trigger: string, button: string) {
  const link = page.getByRole('link', { name: trigger, exact: true });
  await tabTo(page, link);
  await page.keyboard.press('Enter');
  if (js) {
    const dialog = page.getByRole('dialog', { name: title });
    await expect(dialog).toBeVisible();
    await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
    await page.keyboard.press('Escape');
    await expect(dialog).toBeHidden();
    await expect(link).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(dialog).toBeVisible();
    await page.keyboard.press('Tab');
    await expect(dialog.getByRole('button', { name: button, exact: true })).toBeFocused();
    await page.keyboard.press('Enter');
  } else {
    await expect(page.getByRole('heading', { name: title, level: 2 })).toBeVisible();
    await tabTo(page, page.getByRole('button', { name: button, exact: true }));
    await page.keyboard.press('Enter');
  }
}

async function projectsJourney(page: Page, js: boolean): Promise<void> {
  if (js) {
    await trackHydration(page);
  }
  await signInAsNewAdmin(page, js);
  const member = uniqueUsername();
  lockbox(['admin', 'create-user', member], `${uniquePassword()}\n`);
  await page.goto('/admin/projects');
  await settle(page, js);
  await expect(page.getByRole('heading', { name: 'Projects', level: 1 })).toBeVisible();

  // Create a project.
  const project = `team-${token(3)}`;
  await tabTo(page, page.getByRole('textbox', { name: 'Project name' }));
  await page.keyboard.type(project);
  await tabTo(page, page.getByRole('textbox', { name: 'Description' }));
  await page.keyboard.type('e2e team');
  await tabTo(page, page.getByRole('button', { name: 'Create project', exact: true }));
  await page.keyboard.press('Enter');
  await expect(notice(page)).toHaveText(`Project ${project} created.`);
  const row = page.locator(`tr[data-project="${project}"]`);
  await expect(row).toContainText(`lockbox-${project}`);
  await settle(page, js);

  // Its page: add a member.
  await tabTo(page, page.getByRole('link', { name: `Manage members of ${project}`, exact: true }));
  await page.keyboard.press('Enter');
  await expectPath(page, `/admin/projects/${project}`);
  await settle(page, js);
  await expect(page.getByRole('heading', { name: `Project ${project}`, level: 1 })).toBeVisible();
  await tabTo(page, page.getByRole('textbox', { name: 'Username' }));
  await page.keyboard.type(member);
  await tabTo(page, page.getByRole('button', { name: 'Add member', exact: true }));
  await page.keyboard.press('Enter');
  await expect(notice(page)).toHaveText(`${member} may now use ${project}.`);
  await expect(page.locator(`tr[data-member="${member}"]`)).toBeVisible();
  await settle(page, js);

  // Remove the member, after a confirmation.
  await confirmByKeyboard(page, js, `Remove ${member} from ${project}?`, `Remove ${member} from ${project}`, 'Remove');
  await expect(notice(page)).toHaveText(`${member} was removed from ${project}.`);
  await expect(page.locator(`tr[data-member="${member}"]`)).toHaveCount(0);
  await settle(page, js);

  // Back to the list; delete the project, after a confirmation.
  await tabTo(page, page.getByRole('link', { name: 'All projects', exact: true }));
  await page.keyboard.press('Enter');
  await expectPath(page, '/admin/projects');
  await settle(page, js);
  await confirmByKeyboard(page, js, `Delete the project ${project}?`, `Delete ${project}`, 'Delete');
  await expect(notice(page)).toHaveText(`Project ${project} deleted.`);
  await expect(page.locator(`tr[data-project="${project}"]`)).toHaveCount(0);
}

for (const js of [true, false]) {
  test.describe(js ? 'with JavaScript' : 'without JavaScript', () => {
    test.use({ javaScriptEnabled: js });
    test('an admin creates a project, adds and removes a member, and deletes it by keyboard', async ({ page }) => {
      await projectsJourney(page, js);
    });
  });
}
