import { expect, test } from '@playwright/test';
import { settle, trackHydration } from './helpers';

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

// Issue 11: the bundle has content-hashed names and is served `immutable`, so a page's second load
// takes every script, stylesheet and WebAssembly file from the browser's cache: no byte of them
// crosses the network again. Counted by Chromium itself (DevTools protocol: the encoded bytes
// received for each request).
test("a page's second load transfers no asset bytes", async ({ page }) => {
  await trackHydration(page);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const urls = new Map<string, string>();
  let loads: { url: string; bytes: number }[] = [];
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.loadingFinished', (e) => {
    const url = urls.get(e.requestId);
    if (url && new URL(url).pathname.startsWith('/pkg/')) {
      loads.push({ url, bytes: e.encodedDataLength });
    }
  });
  const encodings: Record<string, string> = {};
  page.on('response', async (response) => {
    if (new URL(response.url()).pathname.startsWith('/pkg/')) {
      const headers = await response.allHeaders();
      encodings[new URL(response.url()).pathname] =
        `${headers['content-encoding'] ?? 'identity'}; ${headers['cache-control'] ?? ''}`;
    }
  });

  await page.goto('/login');
  await settle(page, true);
  const first = loads;
  const paths = first.map((l) => new URL(l.url).pathname).sort();
  expect(paths.some((p) => /^\/pkg\/lockbox\.[\w-]{22}\.wasm$/.test(p)), `a hashed .wasm in ${paths}`).toBe(true);
  expect(paths.some((p) => /^\/pkg\/lockbox\.[\w-]{22}\.js$/.test(p)), `a hashed .js in ${paths}`).toBe(true);
  expect(paths.some((p) => /^\/pkg\/lockbox\.[\w-]{22}\.css$/.test(p)), `a hashed .css in ${paths}`).toBe(true);
  expect(first.every((l) => l.bytes > 0), JSON.stringify(first)).toBe(true);
  // Chromium accepts brotli: the precompressed variants went out, with the long cache.
  for (const path of paths) {
    expect(encodings[path], path).toBe('br; public, max-age=31536000, immutable');
  }

  loads = [];
  await page.goto('/login');
  await settle(page, true);
  const again = loads.map((l) => new URL(l.url).pathname).sort();
  expect([...new Set(again)], 'the second load used the same files').toEqual([...new Set(paths)]);
  const transferred = loads.reduce((sum, l) => sum + l.bytes, 0);
  expect(transferred, `asset bytes over the network on the second load: ${JSON.stringify(loads)}`).toBe(0);
});
