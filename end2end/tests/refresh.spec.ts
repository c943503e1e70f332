// The open page refreshes its figures in place (one server-function call per interval),
// keeps the last figures with a notice while the server is unreachable, and recovers by
// itself when the server is back.

import { Request, expect, test } from '@playwright/test';
import { SECOND, generation } from './events';
import { openDashboard } from './page';
import { seed } from './seed';
import { Server, startServer } from './server';

const REFRESH_SECONDS = 2;

// Short enough that the page has room to scroll.
test.use({ viewport: { width: 1280, height: 500 } });

test('figures refresh in place, go stale while the server is down, and recover', async ({ page }) => {
  test.setTimeout(90_000);
  const data = seed();
  const env = { ...data.env, USAGE_MONITOR_REFRESH_SECONDS: String(REFRESH_SECONDS) };
  let server: Server | undefined = await startServer({ events: data.events, env });
  const servers: Server[] = [server];
  try {
    const calls: { at: number; method: string }[] = [];
    page.on('request', (request: Request) => {
      if (request.url().includes('get_dashboard_stats')) calls.push({ at: Date.now(), method: request.method() });
    });
    const reloads: string[] = [];
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) reloads.push(frame.url());
    });

    await openDashboard(page, server.url);
    const navigations = reloads.length;
    const generations = page.locator('[data-testid=generations-today] [data-testid=value]');
    await expect(generations).toHaveText('9');
    await expect(page.locator('[data-testid=last-updated]')).toBeVisible();
    await expect(page.locator('text=refreshes every 2 s')).toBeVisible();

    await test.step('new data shows up without a reload, scroll position kept', async () => {
      await page.evaluate(() => window.scrollTo(0, 300));
      await expect.poll(() => page.evaluate(() => window.scrollY)).toBeGreaterThan(0);
      const scrollY = await page.evaluate(() => window.scrollY);

      await server!.importEvents([
        generation({ id: 'g_new', user_id: 'u_pro1', provider: 'NanoBanana', status: 'succeeded', credits: 2, cost_usd: '0.039', created: Date.now() - SECOND }),
      ]);
      await expect(generations).toHaveText('10', { timeout: 3 * REFRESH_SECONDS * SECOND });
      await expect(page.locator('[data-testid=generations-today] [data-testid=subtitle]')).toHaveText('3 failed');
      expect(reloads.length, 'no navigation happened').toBe(navigations);
      expect(await page.evaluate(() => window.scrollY)).toBe(scrollY);
    });

    await test.step('one server-function call per refresh', async () => {
      const from = Date.now();
      await page.waitForTimeout(5_000);
      const window = calls.filter((call) => call.at >= from && call.at < from + 5_000);
      expect(window.length, `calls in 5 s: ${JSON.stringify(window)}`).toBeGreaterThanOrEqual(1);
      expect(window.length, `calls in 5 s: ${JSON.stringify(window)}`).toBeLessThanOrEqual(3);
      expect(window.every((call) => call.method === 'POST')).toBe(true);
      // Never two at once: consecutive calls are about an interval apart.
      for (let i = 1; i < calls.length; i++) {
        expect(calls[i].at - calls[i - 1].at, 'gap between calls').toBeGreaterThan(REFRESH_SECONDS * SECOND * 0.75);
      }
    });

    await test.step('server down: last figures stay, with a notice', async () => {
      await server!.stop();
      server = undefined;
      const notice = page.locator('[data-testid=stale-notice]');
      await expect(notice).toBeVisible({ timeout: 3 * REFRESH_SECONDS * SECOND });
      await expect(notice).toContainText('server unreachable');
      await expect(notice).toHaveText(/^Figures from \d+ s ago; server unreachable\. Retrying every 2 s\.$/);
      await expect(generations).toHaveText('10');
      await expect(page.locator('[data-testid=health]')).toHaveAttribute('data-status', 'critical');
      await expect(page.locator('table[data-testid=providers] tbody tr')).toHaveCount(4);
    });

    await test.step('server back on the same port and data: the notice goes by itself', async () => {
      const port = servers[0].port;
      server = await startServer({ port, dbUrl: servers[0].dbUrl, env });
      servers.push(server);
      await expect(page.locator('[data-testid=stale-notice]')).toHaveCount(0, { timeout: 3 * REFRESH_SECONDS * SECOND });
      await expect(generations).toHaveText('10');
      expect(reloads.length, 'no navigation happened').toBe(navigations);
    });
  } finally {
    for (const s of servers) await s.stop();
  }
});
