// Every page, and every link and form on it, followed both before the page is hydrated (the
// browser navigates) and after (the app navigates in the page): no script may be refused by
// the Content-Security-Policy, and nothing may go wrong in the console.

import { expect, Locator, Page, test } from '@playwright/test';
import { DAY } from './events';
import { collectErrors, hydrated, signIn } from './page';
import { SIGNED_OUT_PAGES, adminPages, localDate } from './pages';
import { Seed, seed } from './seed';
import { Server, startServer } from './server';

let data: Seed;
let server: Server;

test.use({ viewport: { width: 1280, height: 900 } });

test.beforeAll(async () => {
  data = seed();
  server = await startServer({ events: data.events, env: { ...data.env, USAGE_MONITOR_REFRESH_SECONDS: '3600' } });
});

test.afterAll(async () => {
  await server?.stop();
});

/** Pages that answer 404 on purpose; every other response must be found. */
const NOT_FOUND = ['/admin/users/nobody', '/admin/no-such-page'];

/** What went wrong in the page so far: console errors and CSP violations (`collectErrors`)
 *  and responses of 400 or more, but for the not-found pages' own 404 and its console line. */
async function watchProblems(page: Page): Promise<() => string[]> {
  const errors = await collectErrors(page);
  page.on('response', (response) => {
    const url = new URL(response.url());
    const expected = response.status() === 404 && NOT_FOUND.includes(url.pathname);
    if (response.status() >= 400 && !expected) errors.push(`response: ${response.status()} ${url.pathname}${url.search}`);
  });
  const notFoundLine = 'the server responded with a status of 404';
  return () => errors.filter((error) => !(error.startsWith('console:') && error.includes(notFoundLine)));
}

type Mode = 'before hydration' | 'after hydration';
const MODES: Mode[] = ['before hydration', 'after hydration'];

/** Links already followed in a mode, so that a link on every page is followed once. */
const followed = new Set<string>();

/** Path and query of a URL, as the app's hydration mark names it. */
function pathOf(url: string): string {
  const u = new URL(url);
  return u.pathname + u.search;
}

/** Opens `path`; before hydration, the WebAssembly is held back until `release` is called,
 *  so that whatever the test does meanwhile meets the server-rendered page alone. */
async function open(page: Page, path: string, mode: Mode): Promise<() => void> {
  let release = () => {};
  if (mode === 'before hydration') {
    const released = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/*.wasm', async (route) => {
      await released;
      await route.continue().catch(() => {}); // the page that asked may be gone
    });
  }
  // The load event would wait for the held-back WebAssembly (it is preloaded).
  const response = await page.goto(server.url + path, { waitUntil: mode === 'before hydration' ? 'domcontentloaded' : 'load' });
  expect(response?.status(), path).toBeLessThan(500);
  if (mode === 'after hydration') await hydrated(page, path);
  return release;
}

/** The visible links of the page that lead to its pages (not to downloads or the API), as
 *  written in their `href`. */
async function pageLinks(page: Page): Promise<string[]> {
  const hrefs = await page
    .locator('a[href]')
    .evaluateAll((links) => links.filter((a) => a.checkVisibility()).map((a) => a.getAttribute('href')!));
  return [...new Set(hrefs)].filter((href) => {
    const url = new URL(href, server.url);
    return url.origin === server.url && !url.pathname.startsWith('/api/') && !url.pathname.startsWith('/pkg/');
  });
}

/** Where a link to `path` lands: the admin area sends the signed-out to sign in first. */
function landing(path: string, signedIn: boolean): string {
  return path.startsWith('/admin') && !signedIn ? `/login?next=${encodeURIComponent(path)}` : path;
}

/** Follows the link `href` from `from`, then waits until the page it lands on is live. */
async function follow(page: Page, from: string, href: string, mode: Mode, signedIn: boolean) {
  const release = await open(page, from, mode);
  const link: Locator = page.locator(`a[href=${JSON.stringify(href)}]`).first();
  await link.click();
  release();
  await hydrated(page, landing(pathOf(new URL(href, server.url).href), signedIn));
  await page.unroute('**/*.wasm');
}

for (const mode of MODES) {
  test(`every page, its links and its forms, ${mode}`, async ({ page }) => {
    // About 60 page loads, each compiling the development build's WebAssembly: 2.5 min
    // on a quiet 2-core machine, past 4 min on a busy one. Each wait has its own limit.
    test.setTimeout(600_000);
    const problems = await watchProblems(page);
    for (const path of [...SIGNED_OUT_PAGES, ...adminPages(data)]) {
      await test.step(path, async () => {
        if (SIGNED_OUT_PAGES.includes(path)) await page.context().clearCookies();
        else if (!(await page.context().cookies()).some((c) => c.name.endsWith('usage_monitor_session'))) await signIn(page.request, server.url);
        const release = await open(page, path, mode);
        const links = await pageLinks(page);
        release();
        await hydrated(page, path);
        await page.unroute('**/*.wasm');
        for (const target of links) {
          const key = `${mode} ${target}`;
          if (followed.has(key)) continue;
          followed.add(key);
          await follow(page, path, target, mode, !SIGNED_OUT_PAGES.includes(path));
        }
        expect(problems(), `${path}, ${mode}`).toEqual([]);
      });
    }

    await test.step('the log filter form', async () => {
      const release = await open(page, '/admin/generations', mode);
      await page.getByLabel('Status', { exact: true }).selectOption('failed');
      await page.getByRole('button', { name: 'Filter' }).click();
      release();
      // The form sends its empty fields too; the page at that address is what must be live.
      await expect(page).toHaveURL(/status=failed/);
      await hydrated(page, pathOf(page.url()));
      await page.unroute('**/*.wasm');
    });

    await test.step('the custom range form', async () => {
      const release = await open(page, '/admin/credits', mode);
      const from = localDate(data, data.clock.now - 3 * DAY);
      const to = localDate(data, data.clock.now);
      await page.getByLabel('From').fill(from);
      await page.getByLabel('To', { exact: true }).fill(to);
      await page.getByRole('button', { name: 'Show range' }).click();
      release();
      await expect(page).toHaveURL(new RegExp(`from=${from}&to=${to}`));
      await hydrated(page, pathOf(page.url()));
      await page.unroute('**/*.wasm');
    });

    await test.step('signing out, and in again through the form', async () => {
      const release = await open(page, '/admin/credits', mode);
      await page.getByRole('button', { name: 'Sign out' }).click();
      release();
      await hydrated(page, '/login');
      await page.unroute('**/*.wasm');
      const again = await open(page, '/login', mode);
      await page.getByLabel('Email').fill('admin@example.com');
      await page.getByLabel('Password').fill('end-to-end admin password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      again();
      await hydrated(page, '/admin/credits');
      await page.unroute('**/*.wasm');
    });
    expect(problems()).toEqual([]);
  });
}
