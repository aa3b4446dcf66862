import { expect, test, type Page } from '@playwright/test';
import { settle, signUp, trackHydration, uniquePassword, uniqueUsername } from './helpers';

// The Content-Security-Policy allows inline scripts only with the response's own nonce. The pages
// must still hydrate under it, with no CSP violation reported, also the secrets page when it is
// served from the server's page cache.

type Violations = { __cspViolations?: string[] };

/** Records every CSP violation the browser reports, and every console message about one. */
async function watchCsp(page: Page): Promise<string[]> {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (/content security policy|refused to/i.test(message.text())) {
      problems.push(`console ${message.type()}: ${message.text()}`);
    }
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      const w = window as unknown as Violations;
      (w.__cspViolations ??= []).push(`${event.violatedDirective}: ${event.blockedURI}`);
    });
  });
  return problems;
}

async function violations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as Violations).__cspViolations ?? []);
}

/** Loads `path` and checks its policy: a nonce in script-src, no 'unsafe-inline', and every script of the page carrying that nonce. Returns the nonce. */
async function visit(page: Page, path: string): Promise<string> {
  const response = await page.goto(path);
  expect(response, `a response for ${path}`).not.toBeNull();
  const csp = (await response!.allHeaders())['content-security-policy'] ?? '';
  const scriptSrc = csp.split(';').map((d) => d.trim()).find((d) => d.startsWith('script-src')) ?? '';
  expect(scriptSrc, csp).not.toContain("'unsafe-inline'");
  const nonce = /'nonce-([^']+)'/.exec(scriptSrc)?.[1];
  expect(nonce, `a nonce in ${csp}`).toBeTruthy();
  const html = await response!.text();
  const tags = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
  expect(tags.length, 'the page has inline scripts').toBeGreaterThan(0);
  for (const tag of tags) {
    expect(tag).toContain(`nonce="${nonce}"`);
  }
  await settle(page, true);
  return nonce!;
}

test.describe('content security policy', () => {
  test.use({ javaScriptEnabled: true });

  test('pages hydrate under the nonce policy with no violation', async ({ page }) => {
    const problems = await watchCsp(page);
    await trackHydration(page);
    const first = await visit(page, '/login');
    const second = await visit(page, '/login');
    expect(second).not.toBe(first);

    await signUp(page, uniqueUsername(), uniquePassword(), true);
    await settle(page, true);
    // Rendered, then served from the page cache: both hydrate, each with its own nonce.
    const rendered = await visit(page, '/settings/secrets');
    await expect(page.getByRole('heading', { name: 'Secrets', level: 1 })).toBeVisible();
    const cached = await visit(page, '/settings/secrets');
    expect(cached).not.toBe(rendered);
    await visit(page, '/sessions');
    await visit(page, '/sessions/new');

    expect(await violations(page), 'CSP violations').toEqual([]);
    expect(problems, 'CSP console messages').toEqual([]);
  });

  test('an inline script without the nonce is refused', async ({ page }) => {
    await watchCsp(page);
    await trackHydration(page);
    await visit(page, '/login');
    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.__injected = true;';
      document.body.appendChild(script);
    });
    expect(await page.evaluate(() => (window as unknown as { __injected?: boolean }).__injected)).toBeUndefined();
    await expect.poll(() => violations(page)).toContainEqual(expect.stringContaining('script-src'));
  });
});
