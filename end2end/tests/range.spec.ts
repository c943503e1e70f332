// The date range: an admin picks a preset or a custom from–to, the range-based sections
// follow it and say so, the URL carries it (shareable, back button), and a bad range is
// explained.

import { expect, Page, test } from '@playwright/test';
import { MINUTE, count } from './events';
import { DASHBOARD_PATH, collectErrors, openDashboard } from './page';
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

/** The seeded generations created in [from, to). */
function createdIn(from: number, to: number) {
  return data.generations.filter((g) => g.created >= from && g.created < to);
}

/** The local date (YYYY-MM-DD) of an instant in the reporting zone. */
function localDate(ms: number): string {
  return new Date(ms + data.zone.offsetMinutes * MINUTE).toISOString().slice(0, 10);
}

/** The first instant of a local date in the reporting zone. */
function localMidnight(date: string): number {
  return Date.parse(`${date}T00:00:00Z`) - data.zone.offsetMinutes * MINUTE;
}

const generationsCard = (page: Page) => page.locator('[data-testid=generations-today]');

async function expectRange(page: Page, label: string, generations: number) {
  await expect(page.locator('[data-testid=range-note]')).toContainText(`Showing ${label}.`);
  await expect(page.locator('#month-heading')).toHaveText(`Selected Range (${label})`);
  await expect(page.locator('#providers-heading')).toHaveText(`AI Provider Usage (${label})`);
  await expect(page.locator('#top-users-heading')).toHaveText(`Top Users by Cost (${label})`);
  await expect(generationsCard(page).locator('.card-title')).toHaveText('Generations');
  await expect(generationsCard(page).locator('[data-testid=value]')).toHaveText(count(generations));
  await expect(page.locator('[data-testid=month-generations] dd')).toHaveText(count(generations));
  await expect(page.locator('[data-testid=range-picker] a[aria-current=page]')).toHaveText(label);
}

async function expectDefaultView(page: Page) {
  await expect(page.locator('[data-testid=range-note]')).toHaveCount(0);
  await expect(page.locator('#month-heading')).toContainText('This Month');
  await expect(generationsCard(page).locator('.card-title')).toHaveText('Generations Today');
  await expect(generationsCard(page).locator('[data-testid=value]')).toHaveText(data.expected.cards['generations-today'].value);
  await expect(page.locator('[data-testid=range-picker] a[aria-current=page]')).toHaveText('Default view');
}

test('presets and a custom range drive the sections, live in the URL, and go back', async ({ page }) => {
  const errors = await collectErrors(page);
  await openDashboard(page, server.url);
  const now = data.clock.now;
  await expectDefaultView(page);
  const health = await page.locator('[data-testid=health-detail]').textContent();

  await test.step('a preset: the last 30 days', async () => {
    await page.getByRole('link', { name: 'Last 30 days' }).click();
    await expect(page).toHaveURL(`${server.url}${DASHBOARD_PATH}?range=30d`);
    await expectRange(page, 'Last 30 days', createdIn(now - 30 * 24 * 60 * MINUTE, now + 1).length);
    // Health stays the last 24 hours.
    await expect(page.locator('[data-testid=health-detail]')).toHaveText(health!);
  });

  await test.step('another preset, then back and back again', async () => {
    await page.getByRole('link', { name: 'Last 7 days' }).click();
    await expect(page).toHaveURL(/\?range=7d$/);
    await expectRange(page, 'Last 7 days', createdIn(now - 7 * 24 * 60 * MINUTE, now + 1).length);
    await page.goBack();
    await expect(page).toHaveURL(/\?range=30d$/);
    await expectRange(page, 'Last 30 days', createdIn(now - 30 * 24 * 60 * MINUTE, now + 1).length);
    await page.goBack();
    await expect(page).toHaveURL(`${server.url}${DASHBOARD_PATH}`);
    await expectDefaultView(page);
  });

  await test.step('a custom from–to: whole local days, the last one included', async () => {
    // The day of the two Flux generations (six days ago) through the day before yesterday.
    const flux = data.generations.find((g) => g.id === 'g_flux1')!;
    const from = localDate(flux.created);
    const to = localDate(now - 2 * 24 * 60 * MINUTE);
    await page.getByLabel('From', { exact: true }).fill(from);
    await page.getByLabel('To', { exact: true }).fill(to);
    await page.getByRole('button', { name: 'Show range' }).click();
    await expect(page).toHaveURL(`${server.url}${DASHBOARD_PATH}?from=${from}&to=${to}`);
    const expected = createdIn(localMidnight(from), localMidnight(to) + 24 * 60 * MINUTE);
    expect(expected.map((g) => g.id)).toEqual(expect.arrayContaining(['g_flux1', 'g_d3']));
    await expect(page.locator('[data-testid=range-note]')).toContainText(`Showing ${from} – ${to}.`);
    await expect(generationsCard(page).locator('[data-testid=value]')).toHaveText(count(expected.length));
    const providers = page.locator('table[data-testid=providers] tbody th');
    await expect(providers).toHaveText(['Flux', 'Seedream']);
    await expect(page.getByLabel('From', { exact: true })).toHaveValue(from);
    await expect(page.getByLabel('To', { exact: true })).toHaveValue(to);
  });

  expect(errors).toEqual([]);
});

test('a shared link opens on its range, rendered by the server', async ({ page }) => {
  await openDashboard(page, server.url);
  const response = await page.request.get(`${server.url}${DASHBOARD_PATH}?range=7d`);
  expect(response.status()).toBe(200);
  const html = await response.text();
  expect(html).toContain('Selected Range');
  expect(html).toContain('Last 7 days');
  await page.goto(`${server.url}${DASHBOARD_PATH}?range=7d`);
  const now = data.clock.now;
  await expectRange(page, 'Last 7 days', createdIn(now - 7 * 24 * 60 * MINUTE, now + 1).length);
});

test('a bad range is explained, and the picker stays to correct it', async ({ page }) => {
  const errors = await collectErrors(page);
  await openDashboard(page, server.url);
  await page.getByLabel('From', { exact: true }).fill('2026-11-05');
  await page.getByLabel('To', { exact: true }).fill('2026-11-01');
  await page.getByRole('button', { name: 'Show range' }).click();
  await expect(page).toHaveURL(/\?from=2026-11-05&to=2026-11-01$/);
  const alert = page.locator('[data-testid=load-error]');
  await expect(alert).toContainText('The range cannot be shown.');
  await expect(alert).toContainText('The start (2026-11-05) must be before the end (2026-11-01).');
  await expect(page.getByLabel('From', { exact: true })).toHaveValue('2026-11-05');

  // Too long, and unknown presets, straight from the address bar (rendered by the server).
  const tooLong = await page.goto(`${server.url}${DASHBOARD_PATH}?from=2024-01-01&to=2026-01-01`);
  expect(tooLong?.status()).toBe(200);
  await expect(alert).toContainText('A range is at most 400 days; 2024-01-01 to 2026-01-01 is 732 days.');
  await page.goto(`${server.url}${DASHBOARD_PATH}?range=week`);
  await expect(alert).toContainText('Unknown range “week”');

  // Correcting it brings the figures back.
  await page.getByRole('link', { name: 'Default view' }).click();
  await expectDefaultView(page);
  expect(errors).toEqual([]);
});
