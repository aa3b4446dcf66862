import { expect, test } from '@playwright/test';

// A page is only live with JavaScript if the bundle it links to exists. A server binary built by a
// plain `cargo build` instead of `cargo leptos build` links /pkg/lockbox_bg.wasm, which the site
// does not have; this test names that problem directly instead of a timeout in the main path.
test('the scripts, styles and WebAssembly a page links to are served', async ({ request }) => {
  const page = await request.get('/login');
  expect(page.status()).toBe(200);
  const html = await page.text();
  const paths = [...new Set([...html.matchAll(/["'](\/pkg\/[^"'?#]+)["']/g)].map((m) => m[1]))].sort();
  expect(paths.some((p) => p.endsWith('.js')), `a script under /pkg/ in ${paths}`).toBe(true);
  expect(paths.some((p) => p.endsWith('.wasm')), `a .wasm under /pkg/ in ${paths}`).toBe(true);
  expect(paths.some((p) => p.endsWith('.css')), `a stylesheet under /pkg/ in ${paths}`).toBe(true);
  // One at a time, so that no other request can interfere with the status of these.
  const statuses: Record<string, number> = {};
  for (const path of paths) {
    statuses[path] = (await request.get(path)).status();
  }
  expect(statuses).toEqual(Object.fromEntries(paths.map((p) => [p, 200])));
});
