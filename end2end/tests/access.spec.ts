// Admins only: the first-admin setup link, signing in (and back to the page asked for),
// signing out, and what the dashboard does when its session ends.

import { expect, test } from '@playwright/test';
import { DASHBOARD_PATH, collectErrors, hydrated, signIn } from './page';
import { ADMIN, Server, startServer } from './server';

/** Console errors, but the browser's note on a form answered with 400 or 401 on purpose. */
function unexpected(errors: string[]): string[] {
  return errors.filter((e) => !/Failed to load resource: the server responded with a status of 40[01]/.test(e));
}

test.describe('a new server without an admin', () => {
  let server: Server;
  test.beforeAll(async () => {
    server = await startServer({ admin: false });
  });
  test.afterAll(async () => server?.stop());

  test('prints a one-time setup link that creates the first admin and signs it in', async ({ page, browser }) => {
    const errors = await collectErrors(page);
    const link = server.output().match(/Create the first one at (\S+)/)?.[1];
    expect(link, `the setup link in:\n${server.output()}`).toBeTruthy();
    const url = new URL(link!);
    expect(url.pathname).toBe('/setup');

    // Without the token the page says the link is not valid.
    await page.goto(server.url + '/setup?token=guess');
    await expect(page.getByRole('alert')).toContainText('This setup link is not valid');

    await page.goto(server.url + url.pathname + url.search);
    await page.getByLabel('Email').fill('first@example.com');
    await page.getByLabel('Password (at least 12 characters)').fill('the first admin password');
    await page.getByLabel('Password again').fill('a different password');
    await page.getByRole('button', { name: 'Create admin and sign in' }).click();
    await expect(page.getByRole('alert')).toHaveText('the two passwords differ');

    await page.getByLabel('Email').fill('first@example.com');
    await page.getByLabel('Password (at least 12 characters)').fill('the first admin password');
    await page.getByLabel('Password again').fill('the first admin password');
    await page.getByRole('button', { name: 'Create admin and sign in' }).click();
    await expect(page).toHaveURL(server.url + DASHBOARD_PATH);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Credits & Usage Monitoring');

    // The link worked once.
    const again = await browser.newContext();
    try {
      const other = await again.newPage();
      await other.goto(link!.replace(url.origin, server.url));
      await expect(other.getByRole('alert')).toContainText('This setup link is not valid');
    } finally {
      await again.close();
    }
    expect(server.output()).toContain('action="admin_created"');
    expect(unexpected(errors)).toEqual([]);
  });
});

test.describe('signing in and out', () => {
  let server: Server;
  test.beforeAll(async () => {
    server = await startServer({ env: { USAGE_MONITOR_REFRESH_SECONDS: '1' } });
  });
  test.afterAll(async () => server?.stop());

  test('a page asked for while signed out opens after signing in', async ({ page }) => {
    const errors = await collectErrors(page);
    await page.goto(server.url + DASHBOARD_PATH);
    await expect(page).toHaveURL(server.url + '/login?next=%2Fadmin%2Fcredits');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Sign in');

    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toHaveText('Wrong email or password.');

    const bundle = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('.wasm'));
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(server.url + DASHBOARD_PATH);
    await expect(page.locator('[data-testid=health]')).toBeVisible();
    // The page hydrates under the Content-Security-Policy (a blocked script would be a console error).
    expect((await bundle).status()).toBe(200);
    await hydrated(page);
    const output = server.output();
    expect(output).toMatch(/action="login_failed" email="admin@example.com" address=127.0.0.1/);
    expect(output).toMatch(/action="login" email=admin@example.com address=127.0.0.1/);
    expect(unexpected(errors)).toEqual([]);
  });

  test('signing out ends the session', async ({ page }) => {
    await signIn(page.request, server.url);
    await page.goto(server.url + DASHBOARD_PATH);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page).toHaveURL(server.url + '/login');
    await page.goto(server.url + DASHBOARD_PATH);
    await expect(page).toHaveURL(/\/login\?next=/);
  });

  test('signing in works without JavaScript', async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      await page.goto(server.url + DASHBOARD_PATH);
      await page.getByLabel('Email').fill(ADMIN.email);
      await page.getByLabel('Password').fill(ADMIN.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page).toHaveURL(server.url + DASHBOARD_PATH);
      await expect(page.locator('[data-testid=health]')).toBeVisible();
    } finally {
      await context.close();
    }
  });

  test('a dashboard whose session ends elsewhere stops refreshing and offers to sign in', async ({ page }) => {
    await signIn(page.request, server.url);
    const bundle = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('.wasm'));
    await page.goto(server.url + DASHBOARD_PATH);
    await bundle;
    await hydrated(page);
    // Signing out from the same browser (another tab, say) ends the session on the server.
    const out = await page.request.post(server.url + '/logout', { maxRedirects: 0 });
    expect(out.status()).toBe(303);
    const notice = page.locator('[data-testid=signed-out-notice]');
    await expect(notice).toBeVisible({ timeout: 5_000 });
    await notice.getByRole('link', { name: 'Sign in again' }).click();
    await expect(page).toHaveURL(server.url + '/login?next=%2Fadmin%2Fcredits');
  });
});
