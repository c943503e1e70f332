// The trends chart: generations per day of the last 30 days (per hour for short ranges),
// split by status, with cost; an admin hovers or focuses a bar to read it, opens the table
// under it, and filters it by provider through the URL.

import { expect, Page, test } from '@playwright/test';
import { DAY, GenerationSpec, HOUR, MINUTE, count, dollars, micros } from './events';
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

/** The first instant of the local day `daysBack` days before today's, in the reporting zone. */
function localDayStart(daysBack: number): number {
  const offset = data.zone.offsetMinutes * MINUTE;
  const local = data.clock.now + offset;
  return local - (local % DAY) - offset - daysBack * DAY;
}

/** Counts and cost of `generations` as a bar's text gives them. */
function barFigures(generations: GenerationSpec[]) {
  const of = (status: string) => generations.filter((g) => g.status === status).length;
  return {
    generations: count(generations.length),
    succeeded: count(of('succeeded')),
    failed: count(of('failed')),
    pending: count(of('pending')),
    cost: dollars(generations.reduce((sum, g) => sum + micros(g.cost_usd), 0)),
  };
}

/** The 30 bars of the default view: each local day's generations, oldest day first. */
function dailyBars(provider?: string) {
  return Array.from({ length: 30 }, (_, i) => {
    const [start, end] = [localDayStart(29 - i), localDayStart(28 - i)];
    return barFigures(
      data.generations.filter((g) => g.created >= start && g.created < end && (!provider || g.provider === provider)),
    );
  });
}

const bars = (page: Page) => page.locator('[data-testid=trend-bar]');

async function expectBars(page: Page, expected: ReturnType<typeof dailyBars>) {
  // Polled: another provider's chart may have as many bars as the one it replaces.
  const labels = () =>
    bars(page).evaluateAll((gs) => gs.map((g) => g.getAttribute('aria-label')!.replace(/^.*?: (?=[\d,]+ generations)/, '')));
  await expect
    .poll(labels)
    .toEqual(
      expected.map(
        (b) => `${b.generations} generations, ${b.succeeded} succeeded, ${b.failed} failed, ${b.pending} pending, cost ${b.cost}`,
      ),
    );
}

test('the last 30 days by day, read by pointer, keyboard and table, filtered by provider', async ({ page }) => {
  const errors = await collectErrors(page);
  await openDashboard(page, server.url);
  const trends = page.locator('[data-testid=trends]');
  await expect(trends.locator('#trends-heading')).toHaveText('Generations per Day (Last 30 Days)');
  const expected = dailyBars();
  // The seed has generations today and 3, 6, 10 days ago; 40 days ago is out.
  expect(expected.filter((b) => b.generations !== '0').length).toBeGreaterThanOrEqual(4);
  await expectBars(page, expected);
  const today = expected[29];

  await test.step('hovering a bar shows its figures', async () => {
    await bars(page).nth(29).hover();
    const tip = page.locator('[data-testid=trend-tip]');
    await expect(tip).toContainText(`Succeeded ${today.succeeded}`);
    await expect(tip).toContainText(`Failed ${today.failed}`);
    await expect(tip).toContainText(`Pending ${today.pending}`);
    await expect(tip).toContainText(`Cost ${today.cost}`);
    await page.mouse.move(0, 0);
    await expect(tip).toHaveCount(0);
  });

  await test.step('so does a bar reached with the keyboard', async () => {
    await bars(page).nth(28).focus();
    await page.keyboard.press('Tab');
    await expect(bars(page).nth(29)).toBeFocused();
    await expect(page.locator('[data-testid=trend-tip]')).toContainText(`Succeeded ${today.succeeded}`);
  });

  await test.step('the same figures as a table', async () => {
    await trends.getByText('Show as a table').click();
    const rows = trends.locator('table[data-testid=trend-table] tbody tr');
    await expect(rows).toHaveCount(30);
    await expect(rows.nth(29).locator('td')).toHaveText([today.succeeded, today.failed, today.pending, today.cost]);
  });

  await test.step('one provider, kept in the URL, and back', async () => {
    const providers = trends.getByRole('navigation', { name: 'Provider' });
    await providers.getByRole('link', { name: 'Seedream' }).click();
    await expect(page).toHaveURL(`${server.url}${DASHBOARD_PATH}?provider=Seedream`);
    await expect(providers.locator('a[aria-current=page]')).toHaveText('Seedream');
    await expectBars(page, dailyBars('Seedream'));
    // Another range keeps the provider.
    await page.getByRole('link', { name: 'Last 7 days' }).click();
    await expect(page).toHaveURL(`${server.url}${DASHBOARD_PATH}?range=7d&provider=Seedream`);
    await expect(providers.locator('a[aria-current=page]')).toHaveText('Seedream');
    await page.goBack();
    await page.goBack();
    await expect(page).toHaveURL(`${server.url}${DASHBOARD_PATH}`);
    await expect(providers.locator('a[aria-current=page]')).toHaveText('All providers');
    await expectBars(page, expected);
  });

  expect(errors).toEqual([]);
});

test('a shared link to a short range shows hours, rendered by the server', async ({ page }) => {
  const errors = await collectErrors(page);
  await openDashboard(page, server.url);
  const response = await page.request.get(`${server.url}${DASHBOARD_PATH}?range=24h&provider=Kling`);
  const html = await response.text();
  expect(html).toMatch(/Generations per (<!>)?Hour/);
  expect(html).toContain('data-testid="trend-bar"');

  await page.goto(`${server.url}${DASHBOARD_PATH}?range=24h&provider=Kling`);
  await expect(page.locator('#trends-heading')).toHaveText('Generations per Hour (Last 24 hours)');
  // 24 hours from a moment that is rarely on the hour: a partial first hour, 23 whole, a partial last.
  const now = data.clock.now;
  const hours = Array.from({ length: 25 }, (_, i) => now - 24 * HOUR + i * HOUR - ((now + data.zone.offsetMinutes * MINUTE) % HOUR));
  const expected = hours
    .map((start, i) => [Math.max(start, now - 24 * HOUR), Math.min(hours[i + 1] ?? now, now)])
    .filter(([start, end]) => start < end)
    .map(([start, end]) => barFigures(data.generations.filter((g) => g.created >= start && g.created < end && g.provider === 'Kling')));
  expect(expected.filter((b) => b.failed !== '0').length, 'the Kling failures of the last minutes').toBeGreaterThan(0);
  await expectBars(page, expected);

  // A provider with nothing in the period (or mistyped) is named, and can be left.
  await page.goto(`${server.url}${DASHBOARD_PATH}?range=24h&provider=Veo`);
  await expect(page.locator('[data-testid=trend-empty]')).toHaveText('No generations by “Veo” in this period');
  const providers = page.getByRole('navigation', { name: 'Provider' });
  await expect(providers.locator('a[aria-current=page]')).toHaveText('Veo');
  await providers.getByRole('link', { name: 'All providers' }).click();
  await expect(page).toHaveURL(`${server.url}${DASHBOARD_PATH}?range=24h`);
  await expect(bars(page)).toHaveCount(expected.length);
  expect(errors).toEqual([]);
});
