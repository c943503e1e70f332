// Opening the dashboard in a browser page and reading it.

import { APIRequestContext, Page, expect } from '@playwright/test';
import { ADMIN } from './server';

export const DASHBOARD_PATH = '/admin/credits';

/** Browser-side problems seen by a page: console errors and uncaught exceptions. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  return errors;
}

/** Signs the test admin in through the login form's POST; the session cookie lands in the
 *  request context's cookie jar (for `page.request`, the page's browser context). */
export async function signIn(request: APIRequestContext, baseUrl: string): Promise<void> {
  const response = await request.post(baseUrl + '/login', { form: ADMIN, maxRedirects: 0 });
  expect(response.status(), 'signing in answers with a redirect').toBe(303);
}

/**
 * Signs in, opens the dashboard and waits until it is hydrated: the page has loaded, the WebAssembly
 * bundle has been fetched and the network has been quiet for a moment.
 */
export async function openDashboard(page: Page, baseUrl: string): Promise<void> {
  await signIn(page.request, baseUrl);
  const bundle = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('.wasm'));
  const response = await page.goto(baseUrl + DASHBOARD_PATH);
  expect(response?.status()).toBe(200);
  expect((await bundle).status(), 'the WebAssembly bundle loads').toBe(200);
  await page.waitForLoadState('networkidle');
  await expect(page.locator('[data-testid=health]')).toBeVisible();
  // Hydration runs right after the bundle is instantiated; give it a moment.
  await page.waitForTimeout(500);
}

/** The figures' time (`generatedAt`), from the "Updated" clock's `datetime`. */
export async function generatedAt(page: Page): Promise<number> {
  const datetime = await page.locator('[data-testid=last-updated]').getAttribute('datetime');
  expect(datetime, 'last-updated has a datetime').toBeTruthy();
  const ms = Date.parse(datetime!);
  expect(Number.isNaN(ms), `datetime ${datetime} parses`).toBe(false);
  return ms;
}
