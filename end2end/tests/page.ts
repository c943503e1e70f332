// Opening the dashboard in a browser page and reading it.

import { APIRequestContext, Page, expect } from '@playwright/test';
import { ADMIN } from './server';

export const DASHBOARD_PATH = '/admin/credits';

/** Browser-side problems seen by a page: console errors, uncaught exceptions, and every
 *  Content-Security-Policy violation (reported by the browser as an event, listened for
 *  before any of the page's own scripts run). */
export async function collectErrors(page: Page): Promise<string[]> {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`securitypolicyviolation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline'} in ${event.documentURI}`);
    });
  });
  return errors;
}

/** Waits until the app has made a page live: it marks `<html data-hydrated="PATH?QUERY">`
 *  once that page's content has hydrated, or been drawn after a navigation in the page
 *  (crates/app/src/hydrated.rs). Without `path`, any page will do. */
export async function hydrated(page: Page, path?: string): Promise<void> {
  const selector = path === undefined ? 'html[data-hydrated]' : `html[data-hydrated="${path}"]`;
  await expect(page.locator(selector)).toHaveCount(1, { timeout: 15_000 });
}

/** Signs the test admin in through the login form's POST; the session cookie lands in the
 *  request context's cookie jar (for `page.request`, the page's browser context). */
export async function signIn(request: APIRequestContext, baseUrl: string): Promise<void> {
  const response = await request.post(baseUrl + '/login', { form: ADMIN, maxRedirects: 0 });
  expect(response.status(), 'signing in answers with a redirect').toBe(303);
}

/** Signs in, opens the dashboard and waits until it is hydrated. */
export async function openDashboard(page: Page, baseUrl: string): Promise<void> {
  await signIn(page.request, baseUrl);
  const response = await page.goto(baseUrl + DASHBOARD_PATH);
  expect(response?.status()).toBe(200);
  await hydrated(page);
  await expect(page.locator('[data-testid=health]')).toBeVisible();
}

/** The figures' time (`generatedAt`), from the "Updated" clock's `datetime`. */
export async function generatedAt(page: Page): Promise<number> {
  const datetime = await page.locator('[data-testid=last-updated]').getAttribute('datetime');
  expect(datetime, 'last-updated has a datetime').toBeTruthy();
  const ms = Date.parse(datetime!);
  expect(Number.isNaN(ms), `datetime ${datetime} parses`).toBe(false);
  return ms;
}
