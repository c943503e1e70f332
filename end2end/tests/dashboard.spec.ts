// The dashboard with a seeded data set: every section shows the figures worked out by hand
// in seed.ts, in the first HTML response and after hydration, and the JSON API agrees.

import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { MINUTE, count, dollars, exactTime, micros, monthStart, relativeTime } from './events';
import { DASHBOARD_PATH, collectErrors, generatedAt, hydrated, openDashboard, signIn } from './page';
import { HTML_ERROR, Seed, seed } from './seed';
import { Server, startServer } from './server';

let data: Seed;
let server: Server;

test.use({ viewport: { width: 1280, height: 900 } });

test.beforeAll(async () => {
  data = seed();
  // No refresh during a test: the figures stay those of the first response.
  server = await startServer({ events: data.events, env: { ...data.env, USAGE_MONITOR_REFRESH_SECONDS: '3600' } });
});

test.afterAll(async () => {
  await server?.stop();
});

test('every section shows the figures of the data set', async ({ page }) => {
  const errors = await collectErrors(page);
  await openDashboard(page, server.url);
  const e = data.expected;

  await expect(page).toHaveTitle(/Credits & Usage Monitoring/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Credits & Usage Monitoring');

  await test.step('health', async () => {
    const health = page.locator('[data-testid=health]');
    await expect(health).toHaveAttribute('data-status', e.health.status);
    await expect(health).toContainText(e.health.label);
    await expect(page.locator('[data-testid=health-detail]')).toHaveText(e.health.detail);
  });

  await test.step('cards', async () => {
    for (const [testid, card] of Object.entries(e.cards)) {
      const locator = page.locator(`[data-testid=${testid}]`);
      await expect(locator.locator('[data-testid=value]'), `${testid} value`).toHaveText(card.value);
      await expect(locator.locator('[data-testid=subtitle]'), `${testid} subtitle`).toHaveText(card.subtitle);
    }
  });

  await test.step('this month', async () => {
    const now = await generatedAt(page);
    const local = new Date(now + data.zone.offsetMinutes * MINUTE);
    const month = local.toLocaleString('en-US', { month: 'long', timeZone: 'UTC' });
    await expect(page.locator('#month-heading')).toHaveText(`This Month (${month} ${local.getUTCFullYear()})`);
    for (const [testid, value] of Object.entries(e.month)) {
      await expect(page.locator(`[data-testid=${testid}] dd`), testid).toHaveText(value);
    }
    await expect(page.locator('[data-testid=month-generations] dt')).toHaveText('Total Generations');
  });

  await test.step('providers, busiest first, last 30 days only', async () => {
    const rows = page.locator('table[data-testid=providers] tbody tr');
    await expect(rows).toHaveCount(e.providers.length);
    for (const [i, cells] of e.providers.entries()) {
      await expect(rows.nth(i).locator('th, td'), `provider row ${i + 1}`).toHaveText(cells);
    }
    await expect(page.locator('table[data-testid=providers]')).not.toContainText('Veo');
    await expect(page.locator('[data-testid=providers-empty]')).toHaveCount(0);
  });

  await test.step('tiers', async () => {
    const rows = page.locator('table[data-testid=tiers] tbody tr');
    await expect(rows).toHaveCount(3);
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-tier')))).toEqual(['pro', 'plus', 'free']);
    for (const [tier, cells] of Object.entries(e.tiers)) {
      await expect(page.locator(`table[data-testid=tiers] tbody tr[data-tier=${tier}]`).locator('th, td'), tier).toHaveText(cells);
    }
    await expect(page.locator('[data-testid=circulation]')).toHaveText(e.circulation);
  });

  await test.step('recent failures, newest first', async () => {
    const now = await generatedAt(page);
    const section = page.locator('section[data-testid=recent-failures]');
    await expect(section).toBeVisible();
    const rows = section.locator('tbody tr');
    await expect(rows).toHaveCount(e.failures.length);
    for (const [i, failure] of e.failures.entries()) {
      const row = rows.nth(i);
      await expect(row).toHaveAttribute('data-generation', failure.id);
      await expect(row.locator('th')).toHaveText(failure.provider);
      const time = row.locator('time');
      await expect(time).toHaveText(relativeTime(failure.created, now));
      await expect(time).toHaveAttribute('title', exactTime(failure.created, data.zone));
      expect(Date.parse((await time.getAttribute('datetime'))!)).toBe(failure.created);
      await expect(row.locator('td').last()).toHaveText(failure.error);
    }
    // Independent of the arithmetic above: the words the page uses.
    await expect(rows.nth(0).locator('time')).toHaveText('just now');
    await expect(rows.nth(1).locator('time')).toHaveText(/^\d+ minutes ago$/);
    await expect(rows.nth(3).locator('time')).toHaveText('3 days ago');
    // The provider's error text is text, not markup.
    await expect(section.locator('b')).toHaveCount(0);
    await expect(section.getByText(HTML_ERROR, { exact: true })).toBeVisible();
    await expect(section).not.toContainText('Old failure');
  });

  await test.step('top users by cost this month, loaded by the browser', async () => {
    // From the events themselves: this month's generations per user, most cost first, ties by id.
    const since = monthStart(data.clock.now, data.zone);
    const tiers = new Map<string, string>();
    const refunds = new Map<string, number>();
    for (const event of data.events as Record<string, any>[]) {
      if (event.kind === 'user') tiers.set(event.id, event.tier);
      if (event.kind === 'refund') refunds.set(event.generation_id, event.credits);
    }
    const byUser = new Map<string, { generations: number; cost: number; consumed: number }>();
    for (const g of data.generations.filter((g) => g.created >= since)) {
      const row = byUser.get(g.user_id) ?? { generations: 0, cost: 0, consumed: 0 };
      row.generations += 1;
      row.cost += micros(g.cost_usd);
      row.consumed += g.credits - (refunds.get(g.id) ?? 0);
      byUser.set(g.user_id, row);
    }
    const expected = [...byUser.entries()]
      .sort(([a, x], [b, y]) => y.cost - x.cost || (a < b ? -1 : 1))
      .slice(0, 10)
      .map(([id, r]) => [id, tiers.get(id)!.replace(/^./, (c) => c.toUpperCase()), count(r.generations), count(r.consumed), dollars(r.cost)]);
    const rows = page.locator('table[data-testid=top-users-table] tbody tr');
    await expect(page.locator('[data-testid=top-users]')).toContainText(expected[0][0]);
    await expect(rows).toHaveCount(expected.length);
    for (const [i, cells] of expected.entries()) {
      await expect(rows.nth(i).locator('th, td'), `top user ${i + 1}`).toHaveText(cells);
    }
    await expect(rows.first().getByRole('link')).toHaveAttribute('href', `/admin/users/${expected[0][0]}`);
    await expect(page.locator('#top-users-heading')).toHaveText('Top Users by Cost (This Month)');
  });

  await test.step("the providers' CSV button", async () => {
    // Its download holds the same rows, the cost exact to the micro-dollar.
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Export providers as CSV' }).click();
    const csv = readFileSync((await (await download).path())!, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('provider,calls,succeeded,failed,success_rate_percent,latency_p50_ms,latency_p95_ms,cost_usd');
    expect(csv.slice(1).map((line) => line.split(',').slice(0, 2))).toEqual(e.providers.map((row) => [row[0], row[1]]));
    expect(csv[1].split(',')[7]).toBe('0.195000');
  });

  await test.step('meta: time zone and update time', async () => {
    await expect(page.locator('[data-testid=time-zone]')).toHaveText(data.zone.name);
    const now = await generatedAt(page);
    const clock = new Date(now + data.zone.offsetMinutes * MINUTE).toISOString().slice(11, 19);
    await expect(page.locator('[data-testid=last-updated]')).toHaveText(clock);
    await expect(page.locator('[data-testid=stale-notice]')).toHaveCount(0);
  });

  await test.step('nothing of the old credit pool', async () => {
    const text = (await page.locator('body').innerText()).toLowerCase();
    for (const word of ['refill', 'credit pool', 'fal.ai']) {
      expect(text, `page mentions "${word}"`).not.toContain(word);
    }
    const html = (await page.content()).toLowerCase();
    for (const word of ['refill', 'credit pool', 'fal.ai']) {
      expect(html, `page source mentions "${word}"`).not.toContain(word);
    }
  });

  expect(errors, 'console errors during load and hydration').toEqual([]);

  // Not an assertion: a picture of the seeded dashboard for people to look at.
  await page.screenshot({ path: '/tmp/dashboard.png', fullPage: true }).catch(() => undefined);
});

test('the JSON API returns the same figures as the page', async ({ page, request }) => {
  const response = await request.get(server.url + '/api/admin/credit-stats', { headers: server.statsHeaders });
  expect(response.status()).toBe(200);
  expect(response.headers()['content-type']).toContain('application/json');
  const stats = await response.json();
  const j = data.expected.json;

  expect(stats.todayStats.generations).toBe(j.todayGenerations);
  expect(stats.todayStats.failed).toBe(j.todayFailed);
  expect(stats.todayStats.successful).toBe(5);
  expect(stats.todayStats.activeUsers).toBe(j.activeUsers);
  expect(stats.todayStats.cost).toBe(j.todayCostDollars);
  expect(stats.monthStats.generations).toBe(j.monthGenerations);
  expect(stats.successRate).toBeCloseTo((7 * 100) / 11, 6);
  expect(stats.refundsLast7Days).toBe(j.refundsLast7Days);
  expect(stats.userStats.usersWithCredits).toBe(j.usersWithCredits);
  expect(stats.userStats.totalCreditsInCirculation).toBe(j.totalCreditsInCirculation);
  expect(stats.userStats.creditsByTier.pro).toMatchObject({ count: 2, totalCredits: 1700 });
  expect(stats.userStats.creditsByTier.free).toMatchObject({ count: 3, totalCredits: 15 });
  expect(stats.systemHealth).toMatchObject({ status: 'critical', tasksLast24h: j.tasksLast24h, failureLast24h: j.failureLast24h });
  expect(stats.systemHealth.failureRate).toBeCloseTo(37.5, 6);
  expect(stats.timeZone).toBe(data.zone.name);
  expect(stats.providers.map((p: { name: string }) => p.name)).toEqual(['NanoBanana', 'Seedream', 'Flux', 'Kling']);
  expect(stats.providers[2]).toMatchObject({ name: 'Flux', totalCalls: 2, successful: 2, failed: 0, totalCost: 1234.57 });
  expect(stats.providers[3].successRate).toBe(0);
  expect(stats.recentFailures.map((f: { id: string }) => f.id)).toEqual(data.expected.failures.map((f) => f.id));
  expect(stats.recentFailures[1].error).toBe(HTML_ERROR);

  // And the page shows these numbers.
  await openDashboard(page, server.url);
  const value = (testid: string) => page.locator(`[data-testid=${testid}] [data-testid=value]`);
  await expect(value('generations-today')).toHaveText(String(stats.todayStats.generations));
  await expect(value('active-users-today')).toHaveText(String(stats.todayStats.activeUsers));
  await expect(value('success-rate-7d')).toHaveText(`${stats.successRate.toFixed(1)}%`);
  await expect(page.locator('[data-testid=month-generations] dd')).toHaveText(String(stats.monthStats.generations));
  await expect(page.locator('[data-testid=health]')).toHaveAttribute('data-status', stats.systemHealth.status);
  await expect(page.locator('section[data-testid=recent-failures] tbody tr')).toHaveCount(stats.recentFailures.length);
});

test('the first HTML response already holds the figures', async ({ request, browser }) => {
  await signIn(request, server.url);
  const response = await request.get(server.url + DASHBOARD_PATH);
  expect(response.status()).toBe(200);
  expect(response.headers()['content-type']).toContain('text/html');
  const html = await response.text();
  expect(html).toMatch(/Credits (&amp;|&) Usage Monitoring/);
  expect(html).toMatch(/data-testid="generations-today"[\s\S]*?data-testid="value"[^>]*>(<!>)?9</);
  expect(html).toContain('data-status="critical"');
  expect(html).toContain('$1,234.57');
  expect(html).toContain('Network timeout');
  expect(html).toContain('&lt;b&gt;bold&lt;/b&gt; upstream error');
  expect(html).not.toContain('<b>bold</b>');

  // Without JavaScript the page reads the same.
  const context = await browser.newContext({ javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    await signIn(context.request, server.url);
    await page.goto(server.url + DASHBOARD_PATH);
    const e = data.expected;
    for (const [testid, card] of Object.entries(e.cards)) {
      await expect(page.locator(`[data-testid=${testid}] [data-testid=value]`), testid).toHaveText(card.value);
    }
    await expect(page.locator('[data-testid=health-detail]')).toHaveText(e.health.detail);
    await expect(page.locator('table[data-testid=providers] tbody tr')).toHaveCount(e.providers.length);
    await expect(page.locator('section[data-testid=recent-failures] tbody tr')).toHaveCount(e.failures.length);
  } finally {
    await context.close();
  }
});

test('/ leads to the dashboard, through the login form when signed out', async ({ page, request }) => {
  const signedOut = await request.get(server.url + '/', { maxRedirects: 0 });
  expect(signedOut.status()).toBe(303);
  expect(signedOut.headers()['location']).toBe('/login?next=%2F');

  await signIn(request, server.url);
  const response = await request.get(server.url + '/', { maxRedirects: 0 });
  expect([301, 302, 303, 307, 308]).toContain(response.status());
  expect(response.headers()['location']).toBe(DASHBOARD_PATH);

  await signIn(page.request, server.url);
  await page.goto(server.url + '/');
  await expect(page).toHaveURL(server.url + DASHBOARD_PATH);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Credits & Usage Monitoring');
});

test('there is no refill endpoint', async ({ request }) => {
  await signIn(request, server.url);
  const get = await request.get(server.url + '/api/admin/refill-credits', { maxRedirects: 0 });
  expect(get.status()).toBe(404);
  const post = await request.post(server.url + '/api/admin/refill-credits', { data: { amount: 100 }, maxRedirects: 0 });
  expect(post.status()).toBe(404);
});

test('built files carry their content hash and are kept a year; the page is never stored', async ({ page }) => {
  await signIn(page.request, server.url);
  const built: { path: string; cacheControl: string | undefined; status: number }[] = [];
  page.on('response', (r) => {
    const path = new URL(r.url()).pathname;
    if (path.startsWith('/pkg/')) built.push({ path, cacheControl: r.headers()['cache-control'], status: r.status() });
  });
  const response = await page.goto(server.url + DASHBOARD_PATH);
  expect(response?.headers()['cache-control']).toBe('no-store');
  await hydrated(page);
  // The stylesheet, the JS glue and the WebAssembly, each named with a 22-character hash.
  expect(built.map((f) => f.path.replace(/\.[\w-]{22}\./, '.HASH.')).sort()).toEqual([
    '/pkg/usage-monitor.HASH.css',
    '/pkg/usage-monitor.HASH.js',
    '/pkg/usage-monitor.HASH.wasm',
  ]);
  for (const file of built) {
    expect(file.status, file.path).toBe(200);
    expect(file.cacheControl, file.path).toBe('public, max-age=31536000, immutable');
  }
  const old = await page.request.get(server.url + '/pkg/usage-monitor.wasm');
  expect(old.status()).toBe(404);
  expect(old.headers()['cache-control']).toBe('no-store');
  const icon = await page.request.get(server.url + '/favicon.svg');
  expect(icon.headers()['cache-control']).toBe('no-cache');
});
