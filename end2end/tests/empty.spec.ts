// No data: zeros, dashes for rates, "Idle", and no failures section. Successes only: still
// no failures section.

import { expect, test } from '@playwright/test';
import { Clock, MINUTE, SECOND, binnedLatency, generation, reportingZone, user } from './events';
import { collectErrors, openDashboard } from './page';
import { startServer } from './server';

test('an empty database shows zeros, dashes and Idle', async ({ page, request }) => {
  const server = await startServer();
  try {
    const errors = await collectErrors(page);
    await openDashboard(page, server.url);

    const health = page.locator('[data-testid=health]');
    await expect(health).toHaveAttribute('data-status', 'idle');
    await expect(health).toContainText('Idle');
    await expect(page.locator('[data-testid=health-detail]')).toHaveText('0 tasks in last 24h · none finished');

    const card = (testid: string) => page.locator(`[data-testid=${testid}]`);
    await expect(card('active-users-today').locator('[data-testid=value]')).toHaveText('0');
    await expect(card('active-users-today').locator('[data-testid=subtitle]')).toHaveText('0 with credits');
    await expect(card('generations-today').locator('[data-testid=value]')).toHaveText('0');
    await expect(card('generations-today').locator('[data-testid=subtitle]')).toHaveText('0 failed');
    await expect(card('success-rate-7d').locator('[data-testid=value]')).toHaveText('—');
    await expect(card('success-rate-7d').locator('[data-testid=subtitle]')).toHaveText('0 refunds issued');
    await expect(card('cost-today').locator('[data-testid=value]')).toHaveText('$0.00');
    await expect(card('cost-today').locator('[data-testid=subtitle]')).toHaveText('WaveSpeed charges');

    const month = (testid: string) => page.locator(`[data-testid=${testid}] dd`);
    await expect(month('month-generations')).toHaveText('0');
    await expect(month('month-cost')).toHaveText('$0.00');
    await expect(month('month-success-rate')).toHaveText('—');
    await expect(month('month-average-cost')).toHaveText('$0.00');
    await expect(month('month-refunds')).toHaveText('0');

    await expect(page.locator('[data-testid=providers-empty]')).toHaveText('No usage data yet');
    await expect(page.locator('table[data-testid=providers]')).toHaveCount(0);

    for (const [tier, label] of [['pro', 'Pro'], ['plus', 'Plus'], ['free', 'Free']]) {
      await expect(page.locator(`table[data-testid=tiers] tbody tr[data-tier=${tier}]`).locator('th, td'), tier).toHaveText([label, '0', '0', '0']);
    }
    await expect(page.locator('[data-testid=circulation]')).toHaveText('0 credits in circulation · 0 users with credits');

    await expect(page.locator('[data-testid=recent-failures]')).toHaveCount(0);
    await expect(page.locator('[data-testid=stale-notice]')).toHaveCount(0);
    expect(errors).toEqual([]);

    const stats = await (await request.get(server.url + '/api/admin/credit-stats', { headers: server.statsHeaders })).json();
    expect(stats.successRate).toBeNull();
    expect(stats.monthStats.successRate).toBeNull();
    expect(stats.systemHealth).toEqual({ status: 'idle', tasksLast24h: 0, failureLast24h: 0, failureRate: null });
    expect(stats.providers).toEqual([]);
    expect(stats.recentFailures).toEqual([]);
    expect(stats.userStats.creditsByTier).toEqual({
      free: { count: 0, totalCredits: 0, totalConsumed: 0 },
      plus: { count: 0, totalCredits: 0, totalConsumed: 0 },
      pro: { count: 0, totalCredits: 0, totalConsumed: 0 },
    });
  } finally {
    await server.stop();
  }
});

test('successes only (and one pending): healthy, 100 %, no failures section', async ({ page }) => {
  const clock = new Clock();
  // Each completed 20 s after it was created (events.ts).
  const took = binnedLatency(20 * SECOND);
  const zone = reportingZone(clock.now);
  const ok = (id: string, ms: number) =>
    generation({ id, user_id: 'u_1', provider: 'Seedream', status: 'succeeded', credits: 3, cost_usd: '0.5', created: clock.at(ms) });
  const server = await startServer({
    events: [
      user('u_1', 'plus', 40),
      ok('g_1', 30 * SECOND),
      ok('g_2', 2 * MINUTE),
      ok('g_3', 5 * MINUTE),
      // Still running: counted as a call, but in no rate.
      generation({ id: 'g_4', user_id: 'u_1', provider: 'Kling', status: 'pending', credits: 3, cost_usd: '0', created: clock.at(10 * SECOND) }),
    ],
    env: { USAGE_MONITOR_TZ: zone.name },
  });
  try {
    await openDashboard(page, server.url);
    await expect(page.locator('[data-testid=health]')).toHaveAttribute('data-status', 'healthy');
    await expect(page.locator('[data-testid=health]')).toContainText('Healthy');
    await expect(page.locator('[data-testid=health-detail]')).toHaveText('4 tasks in last 24h · 0 failed (0.0%)');
    await expect(page.locator('[data-testid=generations-today] [data-testid=value]')).toHaveText('4');
    await expect(page.locator('[data-testid=generations-today] [data-testid=subtitle]')).toHaveText('0 failed');
    await expect(page.locator('[data-testid=success-rate-7d] [data-testid=value]')).toHaveText('100.0%');
    await expect(page.locator('[data-testid=cost-today] [data-testid=value]')).toHaveText('$1.50');
    const rows = page.locator('table[data-testid=providers] tbody tr');
    await expect(rows).toHaveCount(2);
    await expect(rows.nth(0).locator('th, td')).toHaveText(['Seedream', '3', '100.0%', '0', took, took, '$1.50']);
    await expect(rows.nth(1).locator('th, td')).toHaveText(['Kling', '1', '—', '0', '—', '—', '$0.00']);
    await expect(page.locator('[data-testid=month-success-rate] dd')).toHaveText('100.0%');
    await expect(page.locator('[data-testid=recent-failures]')).toHaveCount(0);
  } finally {
    await server.stop();
  }
});
