// On a phone-sized screen the page does not scroll sideways (wide tables scroll inside
// their own boxes) and its headings are visible.

import { expect, test } from '@playwright/test';
import { openDashboard } from './page';
import { seed } from './seed';
import { Server, startServer } from './server';

let server: Server;

test.use({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });

test.beforeAll(async () => {
  const data = seed();
  server = await startServer({ events: data.events, env: { ...data.env, USAGE_MONITOR_REFRESH_SECONDS: '3600' } });
});

test.afterAll(async () => {
  await server?.stop();
});

test('no horizontal page scroll at 375 px, headings visible', async ({ page }) => {
  await openDashboard(page, server.url);
  await expect(page.locator('section[data-testid=recent-failures]')).toBeVisible();

  const widths = await page.evaluate(() => ({
    document: document.documentElement.scrollWidth,
    body: document.body.scrollWidth,
    viewport: window.innerWidth,
  }));
  expect(widths.viewport).toBe(375);
  expect(widths.document, 'document scroll width').toBeLessThanOrEqual(375);
  expect(widths.body, 'body scroll width').toBeLessThanOrEqual(375);

  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Credits & Usage Monitoring');
  for (const name of [/^This Month/, /Generations per Day/, /AI Provider Usage/, /User Credits by Tier/, /Recent Failures/]) {
    const heading = page.getByRole('heading', { level: 2, name });
    await heading.scrollIntoViewIfNeeded();
    await expect(heading).toBeVisible();
    await expect(heading).toBeInViewport();
  }

  // Each card and the health banner fit the screen.
  for (const testid of ['health', 'active-users-today', 'generations-today', 'success-rate-7d', 'cost-today']) {
    const box = await page.locator(`[data-testid=${testid}]`).boundingBox();
    expect(box, testid).not.toBeNull();
    expect(box!.x, `${testid} left`).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width, `${testid} right`).toBeLessThanOrEqual(375 + 0.5);
  }
});

test('the generations log and a user page do not scroll sideways at 375 px either', async ({ page }) => {
  await openDashboard(page, server.url);
  for (const path of ['/admin/generations', '/admin/users/u_plus1']) {
    await page.goto(server.url + path);
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width, `${path} scroll width`).toBeLessThanOrEqual(375);
  }
});
