// Alerts: an admin opens /admin/alerts, sends a test alert to a real webhook receiver and
// sees it logged; when failures make health critical, the receiver gets exactly one alert.

import { expect, Page, test } from '@playwright/test';
import { Clock, MINUTE, generation, user } from './events';
import { collectErrors, hydrated, signIn } from './page';
import { Receiver } from './receiver';
import { Server, startServer } from './server';

const ALERTS_PATH = '/admin/alerts';
/** The part of the webhook URL that is a secret: the page must never show it. */
const SECRET = 'T000-B000-secret-token';

/** `count` finished generations of the last hour, `failed` of them failed. */
function generations(prefix: string, count: number, failed: number, clock: Clock): object[] {
  return Array.from({ length: count }, (_, i) =>
    generation({
      id: `${prefix}${i}`,
      user_id: 'u_alerts',
      provider: 'NanoBanana',
      status: i < failed ? 'failed' : 'succeeded',
      credits: 1,
      cost_usd: '0.01',
      created: clock.at(30 * MINUTE + i * 1_000),
      ...(i < failed ? { error: 'Provider overloaded' } : {}),
    }),
  );
}

async function openAlerts(page: Page, server: Server) {
  await signIn(page.request, server.url);
  const bundle = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('.wasm'));
  const response = await page.goto(server.url + ALERTS_PATH);
  expect(response?.status()).toBe(200);
  expect((await bundle).status()).toBe(200);
  await hydrated(page);
}

test.use({ viewport: { width: 1280, height: 900 } });

test.describe('with a webhook', () => {
  const receiver = new Receiver();
  let server: Server;
  let webhook: string;
  const clock = new Clock();

  test.beforeAll(async () => {
    webhook = await receiver.start(SECRET);
    server = await startServer({
      events: [user('u_alerts', 'pro', 100), ...generations('ok', 20, 0, clock)],
      env: {
        USAGE_MONITOR_ALERT_WEBHOOKS: webhook,
        USAGE_MONITOR_ALERT_CHECK_SECONDS: '1',
        USAGE_MONITOR_REFRESH_SECONDS: '3600',
      },
    });
  });

  test.afterAll(async () => {
    await server?.stop();
    await receiver.stop();
  });

  test('an admin sends a test alert, and a critical health is announced once', async ({ page }) => {
    const errors = await collectErrors(page);
    await openAlerts(page, server);
    await expect(page.getByRole('link', { name: 'Alerts' })).toHaveAttribute('aria-current', 'page');
    // Scheme and host only: the rest of the URL is a secret.
    await expect(page.getByTestId('alert-webhooks')).toHaveText(`${new URL(webhook).origin}/…`);
    expect(await page.content()).not.toContain(SECRET);
    // The watcher's first check finds a healthy start: recorded, nothing sent.
    await expect(page.getByTestId('alert-state')).toContainText('Healthy since');
    await expect(page.getByTestId('alert-log-empty')).toHaveText('Nothing sent yet.');
    expect(receiver.bodies).toHaveLength(0);

    await page.getByRole('button', { name: 'Send test alert' }).click();
    await expect(page.getByTestId('test-alert-result')).toHaveText('Test alert delivered to 1 of 1 webhooks.');
    expect(receiver.of('test')).toHaveLength(1);
    const test = receiver.of('test')[0];
    expect(test.contentType).toBe('application/json');
    expect(test.path).toBe(`/hook/${SECRET}`);
    expect(typeof test.text).toBe('string');
    expect(test.text).toContain('Test alert from usage-monitor');
    expect(test.status).toBe('healthy');
    const testRow = page.locator('[data-testid=alert-log] tbody tr');
    await expect(testRow).toHaveCount(1);
    await expect(testRow).toHaveAttribute('data-kind', 'test');
    await expect(testRow).toHaveAttribute('data-outcome', 'delivered');
    await expect(testRow).toContainText('Test (health Healthy)');
    await expect(testRow).toContainText('HTTP 200');

    // 20 failures among 40 finished in the last 24 h: 50 %, critical.
    await server.importEvents(generations('fail', 20, 20, clock));
    await expect.poll(() => receiver.of('change').length, { timeout: 15_000 }).toBe(1);
    // More checks pass; the same health is not announced again.
    await page.waitForTimeout(3_500);
    expect(receiver.of('change')).toHaveLength(1);
    const change = receiver.of('change')[0];
    expect(change).toMatchObject({ status: 'critical', previous: 'healthy', failureRate: 50, tasksLast24h: 40, failureLast24h: 20 });
    expect(change.text).toBe(
      'usage-monitor: health is critical (was healthy). 50.0% of finished generations failed in the last 24 h (20 failed of 40 tasks).',
    );

    await page.reload();
    await hydrated(page);
    await expect(page.getByTestId('alert-state')).toContainText('Critical since');
    const rows = page.locator('[data-testid=alert-log] tbody tr');
    await expect(rows).toHaveCount(2);
    await expect(rows.first()).toHaveAttribute('data-kind', 'change');
    await expect(rows.first()).toHaveAttribute('data-outcome', 'delivered');
    await expect(rows.first()).toContainText('Healthy → Critical');
    expect(errors).toEqual([]);
  });
});

test('without webhooks the page says so and the button sends nothing', async ({ page }) => {
  const server = await startServer({ env: { USAGE_MONITOR_ALERT_WEBHOOKS: '' } });
  try {
    await openAlerts(page, server);
    await expect(page.getByTestId('no-webhooks')).toContainText('No webhooks are configured');
    const button = page.getByRole('button', { name: 'Send test alert' });
    await expect(button).toBeDisabled();
    await expect(button).toHaveAttribute('title', /nothing would be sent/);
    await expect(page.getByTestId('alert-state')).toContainText('Not watched');
  } finally {
    await server.stop();
  }
});
