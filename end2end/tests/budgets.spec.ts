// Budgets: an admin sets them on the Alerts page and sees them on the dashboard's cards
// ("$4.10 of $5.00" with a bar), the users over the limit listed; clearing them removes
// the bars. A refused amount says why and saves nothing.

import { expect, Page, test } from '@playwright/test';
import { Clock, MINUTE, generation, user } from './events';
import { collectErrors, hydrated, openDashboard, signIn } from './page';
import { Server, startServer } from './server';

const ALERTS_PATH = '/admin/alerts';
const clock = new Clock();
/** Within today (UTC, the test server's zone), however close to midnight the test runs. */
const today = (offset: number) => Math.max(Math.floor(clock.now / 86_400_000) * 86_400_000 + offset, clock.at(10 * MINUTE) + offset);

function spend(id: string, userId: string, cost: string, offset: number): object {
  return generation({ id, user_id: userId, provider: 'NanoBanana', status: 'succeeded', credits: 1, cost_usd: cost, created: today(offset) });
}

/** $4.10 today: u_big $3.00, u_small $1.10. */
const EVENTS = [
  user('u_big', 'pro', 10),
  user('u_small', 'free', 10),
  spend('g1', 'u_big', '1.50', 1_000),
  spend('g2', 'u_big', '1.50', 2_000),
  spend('g3', 'u_small', '1.10', 3_000),
];

async function openAlerts(page: Page, server: Server) {
  const response = await page.goto(server.url + ALERTS_PATH);
  expect(response?.status()).toBe(200);
  await hydrated(page);
}

async function saveBudgets(page: Page, daily: string, monthly: string, perUser: string, levels: string) {
  await page.getByLabel('Daily budget ($)').fill(daily);
  await page.getByLabel('Monthly budget ($)').fill(monthly);
  await page.getByLabel('Per-user limit, last 24 h ($)').fill(perUser);
  await page.getByLabel('Warning levels (%)').fill(levels);
  await page.getByRole('button', { name: 'Save budgets' }).click();
}

test.use({ viewport: { width: 1280, height: 900 } });

test.describe('budgets', () => {
  let server: Server;

  test.beforeEach(async () => {
    server = await startServer({ events: EVENTS, env: { USAGE_MONITOR_REFRESH_SECONDS: '3600' } });
  });

  test.afterEach(async () => {
    await server?.stop();
  });

  test('budgets set on the Alerts page show on the cards, and go when cleared', async ({ page }) => {
    const errors = await collectErrors(page);
    await signIn(page.request, server.url);
    await openAlerts(page, server);
    await expect(page.getByTestId('budgets-source')).toContainText('From Leptos.toml');
    await expect(page.getByTestId('users-over-limit-off')).toBeVisible();

    // A refused amount says why; nothing is saved.
    await saveBudgets(page, '-5', '', '', '80, 100');
    await expect(page.getByTestId('budgets-result')).toContainText('The daily budget cannot be negative.');
    await expect(page.getByTestId('budget-changes-empty')).toBeVisible();

    await saveBudgets(page, '5', '100', '2', '80, 100');
    await expect(page.getByTestId('budgets-result')).toHaveText('Budgets saved.');
    await expect(page.getByTestId('budget-changes')).toContainText('admin@example.com');
    await expect(page.getByTestId('budget-changes')).toContainText('→ daily $5.00, monthly $100.00, per user $2.00, levels 80, 100');
    const over = page.getByTestId('users-over-limit').getByRole('link');
    await expect(over).toHaveText(['u_big']);
    await expect(over).toHaveAttribute('href', '/admin/users/u_big');
    await expect(page.getByTestId('users-over-limit')).toContainText('$3.00');

    await openDashboard(page, server.url);
    const cost = page.getByTestId('cost-today');
    await expect(cost.locator('.card-value')).toHaveText('$4.10 of $5.00');
    const daily = page.getByRole('progressbar', { name: 'Daily budget' });
    await expect(daily).toHaveAttribute('aria-valuenow', '82');
    await expect(daily).toHaveAttribute('aria-valuetext', '$4.10 of $5.00 (82%)');
    await expect(daily).toHaveAttribute('data-level', '80');
    await expect(daily).toHaveClass(/budget-warn/);
    await expect(daily.locator('rect')).toHaveAttribute('width', '82.0');
    await expect(page.getByTestId('month-cost').locator('dd')).toHaveText('$4.10 of $100.00');
    const monthly = page.getByRole('progressbar', { name: 'Monthly budget' });
    await expect(monthly).toHaveAttribute('aria-valuenow', '4');
    await expect(monthly).toHaveClass(/budget-ok/);

    // The JSON says the same.
    const api = await page.request.get(server.url + '/api/admin/credit-stats', { headers: server.statsHeaders });
    const budgets = (await api.json()).budgets;
    expect(budgets).toMatchObject({
      daily: { spent: 4.1, budget: 5, percent: 82 },
      monthly: { spent: 4.1, budget: 100 },
      usersOverLimit: 1,
    });

    // Cleared: off, though saved; the bars go.
    await openAlerts(page, server);
    await saveBudgets(page, '', '', '', '80, 100');
    await expect(page.getByTestId('budgets-result')).toHaveText('Budgets saved.');
    await expect(page.getByTestId('users-over-limit-off')).toBeVisible();
    await openDashboard(page, server.url);
    await expect(cost.locator('.card-value')).toHaveText('$4.10');
    await expect(page.getByRole('progressbar')).toHaveCount(0);
    await expect(page.getByTestId('month-cost').locator('dd')).toHaveText('$4.10');
    // The refused save's answer is the only error.
    expect(errors).toEqual(['console: Failed to load resource: the server responded with a status of 400 (Bad Request)']);
  });
});
