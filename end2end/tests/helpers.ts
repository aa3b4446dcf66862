// Shared steps for the browser tests. The main path runs twice, with and without JavaScript, from
// `mainPath` below, so both variants check exactly the same things.

import { expect, type Locator, type Page, type Response } from '@playwright/test';
import { randomBytes } from 'node:crypto';

/** A short random token of lowercase letters and digits. */
export function token(bytes = 6): string {
  return randomBytes(bytes).toString('hex');
}

/** A fresh, valid username (3–32 characters of letters, digits, '.', '_' and '-'). */
export function uniqueUsername(): string {
  return `u${Date.now().toString(36)}${token(4)}`;
}

/** A fresh password of at least 12 characters. */
export function uniquePassword(): string {
  return `e2e-passphrase-${token(8)}`;
}

/** A string to plant inside a secret value and look for everywhere it must not appear. */
export function sentinel(): string {
  return `SENTINEL-${token(12)}`;
}

/** A multi-line value shaped like a PEM key, carrying the sentinel in its body. */
export function fakePem(mark: string): string {
  return [
    '-----BEGIN PRIVATE KEY-----',
    'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7',
    `bm90LWEtcmVhbC1rZXk${mark}xN2QxZjU4YjI2ZTQ4ZGQ0NDNhNTZh`,
    'ZmFrZS1rZXktZm9yLWVuZC10by1lbmQtdGVzdHMtb25seQ==',
    '-----END PRIVATE KEY-----',
    '',
  ].join('\n');
}

/** The site's static files: the bundle under /pkg/ and icons. */
function isStaticAsset(url: string): boolean {
  const path = new URL(url).pathname;
  return path.startsWith('/pkg/') || /^\/[\w.-]+\.(svg|ico|png|webmanifest|txt)$/.test(path);
}

/**
 * Reads every response the page receives (headers and body) so a test can show that a secret
 * value never comes back from the server. Also records uncaught page errors and Rust panics
 * reported on the console, which is how a failed hydration shows.
 */
export class PageWatch {
  private readonly pending: Promise<void>[] = [];
  private readonly seen: { url: string; status: number; text: string }[] = [];
  private readonly unreadable: string[] = [];
  readonly errors: string[] = [];

  constructor(page: Page) {
    page.on('response', (response) => this.pending.push(this.read(response)));
    page.on('pageerror', (error) => this.errors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && /panicked|hydrat/i.test(message.text())) {
        this.errors.push(`console: ${message.text()}`);
      }
    });
  }

  private async read(response: Response): Promise<void> {
    const url = response.url();
    const status = response.status();
    let headers = '';
    try {
      headers = JSON.stringify(await response.allHeaders());
    } catch {
      // Headers of a response whose page has gone away; the body check below reports it.
    }
    // Browsers expose no body for redirects.
    if (status >= 300 && status < 400) {
      this.seen.push({ url, status, text: headers });
      return;
    }
    try {
      const body = await response.body();
      this.seen.push({ url, status, text: headers + '\n' + body.toString('latin1') });
    } catch (e) {
      // Chromium drops the bodies of a page's subresources once the page is left. That is harmless
      // for the site's static files (built before any secret existed), not for anything else.
      if (!isStaticAsset(url)) {
        this.unreadable.push(`${status} ${url}: ${(e as Error).message}`);
      }
      this.seen.push({ url, status, text: headers });
    }
  }

  /** Waits until every response seen so far has been read. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.pending.slice());
  }

  /** Asserts that no response received so far, headers or body, contains any of `needles`. */
  async expectNoResponseContains(...needles: string[]): Promise<void> {
    await this.settle();
    expect(this.seen.length, 'responses were recorded').toBeGreaterThan(0);
    for (const needle of needles) {
      const leaks = this.seen.filter((r) => r.text.includes(needle)).map((r) => `${r.status} ${r.url}`);
      expect(leaks, `responses containing ${needle}`).toEqual([]);
    }
    // A page or API reply whose body could not be read would make the check above vacuous.
    expect(this.unreadable, 'responses whose body could not be read').toEqual([]);
  }

  expectNoErrors(): void {
    expect(this.errors, 'page errors and panics').toEqual([]);
  }
}

/** Asserts that the page's current HTML and address contain none of `needles`. */
export async function expectHtmlLacks(page: Page, ...needles: string[]): Promise<void> {
  const html = await page.content();
  const url = decodeURIComponent(page.url());
  for (const needle of needles) {
    expect(html.includes(needle), `page HTML contains ${needle}`).toBe(false);
    expect(url.includes(needle), `page address contains ${needle}`).toBe(false);
  }
}

/**
 * Waits until the page is at `pathname`. Failed posts come back with a query string that carries
 * the error (`?__path=…&__err=…`), so only the path is compared.
 */
export async function expectPath(page: Page, pathname: string): Promise<void> {
  await expect.poll(() => new URL(page.url()).pathname, { message: `page path is ${pathname}` }).toBe(pathname);
}

type HydrationState = { __e2eHydrated?: boolean; __e2eErrors?: string[] };

/**
 * Records, in every document the page loads, when the client-side router starts listening on the
 * window (Leptos does that while hydrating, so it is the sign that the page is live) and any
 * uncaught error before that.
 */
export async function trackHydration(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as HydrationState;
    const failed = (message: string) => (w.__e2eErrors ??= []).push(message);
    window.addEventListener('error', (event) => failed(String(event.message)));
    window.addEventListener('unhandledrejection', (event) => failed(String(event.reason)));
    const add = EventTarget.prototype.addEventListener;
    EventTarget.prototype.addEventListener = function (this: EventTarget, type: string, ...rest: never[]) {
      if (this === window && type === 'popstate') {
        w.__e2eHydrated = true;
      }
      return (add as (...args: unknown[]) => void).call(this, type, ...rest);
    } as typeof add;
  });
}

/**
 * Lets a page finish loading. With JavaScript on, that includes loading the WebAssembly bundle and
 * hydrating (see `trackHydration`), so that later steps act on the live page.
 */
export async function settle(page: Page, javaScript: boolean): Promise<void> {
  await page.waitForLoadState('load');
  if (!javaScript) {
    return;
  }
  const hint =
    'Was target/release/lockbox built by `cargo leptos build --release` (with a current wasm-opt), ' +
    'and target/site with it?';
  try {
    await page.waitForFunction(
      () => {
        const w = window as unknown as HydrationState;
        return w.__e2eHydrated === true || (w.__e2eErrors?.length ?? 0) > 0;
      },
      null,
      { timeout: 15_000 },
    );
  } catch (e) {
    throw new Error(`${page.url()} did not hydrate; look for a failed /pkg/ request. ${hint}\n${(e as Error).message}`);
  }
  const state = await page.evaluate(() => {
    const w = window as unknown as HydrationState;
    return { hydrated: w.__e2eHydrated === true, errors: w.__e2eErrors ?? [] };
  });
  if (!state.hydrated) {
    throw new Error(`${page.url()} failed while hydrating: ${state.errors.join('; ')}. ${hint}`);
  }
  // Hydration finishes in the same task that starts the router; let it and a frame pass.
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0))));
}

/** Creates an account through /signup; `javaScript` says whether to wait for hydration first. */
export async function signUp(page: Page, username: string, password: string, javaScript = false): Promise<void> {
  await page.goto('/signup');
  await settle(page, javaScript);
  await expect(page.getByRole('heading', { name: 'Create account', level: 1 })).toBeVisible();
  await page.getByLabel('Username', { exact: true }).fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Create account', exact: true }).click();
  await expectPath(page, '/settings/secrets');
  await expectSignedInAs(page, username);
}

/** Submits the /login form; the caller checks where it lands. */
export async function signIn(page: Page, username: string, password: string, javaScript = false): Promise<void> {
  await page.goto('/login');
  await settle(page, javaScript);
  await page.getByLabel('Username', { exact: true }).fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

export async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expectPath(page, '/login');
  await expect(page.locator('.whoami')).toHaveCount(0);
}

export async function expectSignedInAs(page: Page, username: string): Promise<void> {
  const whoami = page.locator('.whoami');
  await expect(whoami).toHaveText(`Signed in as ${username}`);
  await expect(whoami.locator('strong')).toHaveText(username);
  await expect(page.getByRole('button', { name: 'Sign out', exact: true })).toBeVisible();
}

/** The "Add a secret" section of the secrets page. */
export function addSection(page: Page): Locator {
  return page.getByRole('region', { name: 'Add a secret' });
}

/** The table row of the secret `name`. */
export function secretRow(page: Page, name: string): Locator {
  return page.locator(`table.secrets tr[data-secret="${name}"]`);
}

export function notice(page: Page): Locator {
  return page.locator('p.notice[role=status]');
}

export async function addSecret(
  page: Page,
  fields: { name: string; value: string; description?: string },
): Promise<void> {
  const add = addSection(page);
  await add.getByLabel('Name', { exact: true }).fill(fields.name);
  await add.getByLabel('Value', { exact: true }).fill(fields.value);
  await add.getByLabel('Description', { exact: true }).fill(fields.description ?? '');
  await add.getByRole('button', { name: 'Add secret', exact: true }).click();
}

/**
 * The whole path a person takes: create an account, sign out, sign in, add a multi-line secret,
 * replace its value, make a mistake, and delete the secret with the keyboard alone. Secret values
 * must never come back in a page or any response.
 */
export async function mainPath(page: Page, opts: { javaScript: boolean }): Promise<void> {
  const js = opts.javaScript;
  const watch = new PageWatch(page);
  if (js) {
    await trackHydration(page);
  }
  const username = uniqueUsername();
  const password = uniquePassword();
  const name = `TLS_KEY_${token(3).toUpperCase()}`;
  const description = `Key for the e2e ${js ? 'JS' : 'no-JS'} run`;
  const first = sentinel();
  const second = sentinel();
  const rejected = sentinel();

  // Create an account; it lands on the secrets page, signed in.
  await signUp(page, username, password, js);
  await settle(page, js);
  await expect(page.getByRole('heading', { name: 'Secrets', level: 1 })).toBeVisible();
  await expect(page.locator('table.secrets tbody tr')).toHaveCount(0);

  // Sign out, fail to sign in with a wrong password, then sign in.
  await signOut(page);
  await settle(page, js);
  await signIn(page, username, `${password}-wrong`, js);
  await expectPath(page, '/login');
  const loginError = page.locator('.error-summary[role=alert]');
  await expect(loginError).toContainText('Incorrect username or password.');
  await expect(page.locator('.whoami')).toHaveCount(0);
  await signIn(page, username, password, js);
  await expectPath(page, '/settings/secrets');
  await expectSignedInAs(page, username);
  await settle(page, js);

  // Add a multi-line secret. It is listed with its description; its value is nowhere.
  await addSecret(page, { name, value: fakePem(first), description });
  await expectPath(page, '/settings/secrets');
  await expect(notice(page)).toHaveText(`Secret ${name} added.`);
  const row = secretRow(page, name);
  await expect(row).toBeVisible();
  await expect(row.getByRole('rowheader')).toHaveText(name);
  await expect(row).toContainText(description);
  await expect(addSection(page).getByLabel('Value', { exact: true })).toHaveValue('');
  await settle(page, js);
  await expectHtmlLacks(page, first);
  await watch.expectNoResponseContains(first);

  // Replace its value; neither the old nor the new value shows.
  await row.getByRole('link', { name: `Replace value of ${name}`, exact: true }).click();
  const replacePanel = page.locator(`tr[data-manage="${name}"]`);
  await expect(replacePanel.getByLabel('Value', { exact: true })).toBeFocused();
  await replacePanel.getByLabel('Value', { exact: true }).fill(fakePem(second));
  await replacePanel.getByRole('button', { name: 'Replace value', exact: true }).click();
  await expectPath(page, '/settings/secrets');
  await expect(notice(page)).toHaveText(`Value of ${name} replaced.`);
  await expect(secretRow(page, name)).toBeVisible();
  await settle(page, js);
  await expectHtmlLacks(page, first, second);
  await watch.expectNoResponseContains(first, second);

  // A name that starts with a digit is refused: summary, field error, input kept (except the value).
  const badDescription = `Kept description ${token(3)}`;
  await addSecret(page, { name: '9bad', value: `typed ${rejected}`, description: badDescription });
  await expectPath(page, '/settings/secrets');
  const add = addSection(page);
  const summary = add.locator('.error-summary[role=alert]');
  await expect(summary).toBeVisible();
  await expect(summary.getByRole('heading', { name: 'There is a problem' })).toBeVisible();
  const message = "Name must start with a letter A–Z or an underscore, not '9'.";
  const link = summary.getByRole('link', { name: message });
  await expect(link).toBeVisible();
  const nameInput = add.getByLabel('Name', { exact: true });
  const nameId = await nameInput.getAttribute('id');
  expect(nameId).toBeTruthy();
  await expect(link).toHaveAttribute('href', `#${nameId}`);
  // The field's own error sits next to the input, in the same `.field` wrapper.
  const fieldError = add.locator('.field', { has: page.locator(`[id="${nameId}"]`) }).locator('p.field-error');
  await expect(fieldError).toHaveText(message);
  await expect(nameInput).toHaveAttribute('aria-invalid', 'true');
  const describedBy = (await nameInput.getAttribute('aria-describedby')) ?? '';
  expect(describedBy.split(/\s+/)).toContain(await fieldError.getAttribute('id'));
  await expect(nameInput).toHaveValue('9bad');
  await expect(add.getByLabel('Description', { exact: true })).toHaveValue(badDescription);
  await expect(add.getByLabel('Value', { exact: true })).toHaveValue('');
  await expect(notice(page)).toHaveCount(0);
  await expect(page.locator('table.secrets tr[data-secret="9bad"]')).toHaveCount(0);
  await expect(secretRow(page, name)).toBeVisible();
  await settle(page, js);
  await expectHtmlLacks(page, first, second, rejected);
  await watch.expectNoResponseContains(first, second, rejected);

  // Delete it with the keyboard alone: Tab from the row's "Replace value" link to its "Delete"
  // link, Enter opens the confirmation with its button focused, Enter confirms.
  await secretRow(page, name).getByRole('link', { name: `Replace value of ${name}`, exact: true }).focus();
  await page.keyboard.press('Tab');
  const deleteLink = secretRow(page, name).getByRole('link', { name: `Delete ${name}`, exact: true });
  await expect(deleteLink).toBeFocused();
  await expect(deleteLink).toHaveText('Delete');
  await page.keyboard.press('Enter');
  const deletePanel = page.locator(`tr[data-manage="${name}"]`);
  const confirm = deletePanel.getByRole('button', { name: `Delete ${name} permanently`, exact: true });
  await expect(confirm).toBeVisible();
  await expect(confirm).toHaveText('Delete');
  await expect(deletePanel).toContainText(`Delete ${name}?`);
  await expect(confirm).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(notice(page)).toHaveText(`Secret ${name} deleted.`);
  await expectPath(page, '/settings/secrets');
  await expect(secretRow(page, name)).toHaveCount(0);
  await settle(page, js);
  await expectHtmlLacks(page, first, second, rejected);
  await watch.expectNoResponseContains(first, second, rejected);

  // No uncaught error or Rust panic on any page (a failed hydration shows as one).
  watch.expectNoErrors();
}
