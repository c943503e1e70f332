// Revenue & margin at 375 px: with every tier's credit value set, the panel's figures by
// tier and by provider, worked out by hand, each on screen without sideways scrolling;
// unset, the panel says which settings to set instead of showing zeros.

import { expect, Page, test } from '@playwright/test';
import { Clock, MINUTE, generation, refund, reportingZone, user } from './events';
import { collectErrors, openDashboard } from './page';
import { Server, startServer } from './server';

const WIDTH = 375;

test.use({ viewport: { width: WIDTH, height: 812 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });

const VALUES = {
  USAGE_MONITOR_CREDIT_VALUE_USD_FREE: '0',
  USAGE_MONITOR_CREDIT_VALUE_USD_PLUS: '0.01',
  USAGE_MONITOR_CREDIT_VALUE_USD_PRO: '0.008',
};

/** A few minutes of generations, all in today and this month of the reporting zone. */
function events(clock: Clock): object[] {
  const at = (minutes: number) => clock.at(minutes * MINUTE);
  const g = (id: string, user_id: string, provider: string, credits: number, cost_usd: string, minutes: number, failed = false) =>
    generation({ id, user_id, provider, status: failed ? 'failed' : 'succeeded', credits, cost_usd, created: at(minutes) });
  return [
    user('u_pro', 'pro', 1000),
    user('u_plus', 'plus', 100),
    user('u_free', 'free', 10),
    // pro: 250 credits × $0.008 = $2.00 against $2.50.
    g('a1', 'u_pro', 'NanoBanana', 250, '2.5', 5),
    // plus: 100 credits × $0.01 = $1.00 against $0.40; a failure refunded in full earns nothing.
    g('a2', 'u_plus', 'Seedream', 100, '0.4', 4),
    g('a3', 'u_plus', 'Seedream', 10, '0', 3, true),
    refund('a3', 10, at(2)),
    // free: 30 credits × $0 against $0.09.
    g('a4', 'u_free', 'NanoBanana', 30, '0.09', 2),
  ];
}

/** Revenue, cost, margin, margin % of each line, as the page writes them. */
const EXPECTED: Record<string, [string, string, string, string]> = {
  Pro: ['$2.00', '$2.50', '-$0.50', '-25.0%'],
  Plus: ['$1.00', '$0.40', '$0.60', '60.0%'],
  Free: ['$0.00', '$0.09', '-$0.09', '—'],
  NanoBanana: ['$2.00', '$2.59', '-$0.59', '-29.5%'],
  Seedream: ['$1.00', '$0.40', '$0.60', '60.0%'],
};
const TOTAL: [string, string, string, string] = ['$3.00', '$2.99', '$0.01', '0.3%'];

let valued: Server;
let unset: Server;

test.beforeAll(async () => {
  const clock = new Clock();
  const zone = { USAGE_MONITOR_TZ: reportingZone(clock.now).name, USAGE_MONITOR_REFRESH_SECONDS: '3600' };
  valued = await startServer({ events: events(clock), env: { ...zone, ...VALUES } });
  unset = await startServer({ events: events(clock), env: zone });
});

test.afterAll(async () => {
  await valued?.stop();
  await unset?.stop();
});

async function noSidewaysScroll(page: Page): Promise<void> {
  const width = await page.evaluate(() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth));
  expect(width, 'page scroll width').toBeLessThanOrEqual(WIDTH);
}

/** The element is on screen once scrolled to, within the width of the screen. */
async function onScreen(page: Page, selector: string, name: string): Promise<void> {
  const element = page.locator(selector);
  await element.scrollIntoViewIfNeeded();
  await expect(element, name).toBeInViewport();
  const box = await element.boundingBox();
  expect(box, name).not.toBeNull();
  expect(box!.x, `${name} left`).toBeGreaterThanOrEqual(0);
  expect(box!.x + box!.width, `${name} right`).toBeLessThanOrEqual(WIDTH + 0.5);
}

test('with credit values set, revenue and margin by tier and provider fit 375 px', async ({ page, request }) => {
  const errors = await collectErrors(page);
  await openDashboard(page, valued.url);
  const panel = page.locator('section[data-testid=margin]');
  await panel.scrollIntoViewIfNeeded();
  await expect(panel.getByRole('heading', { level: 2 })).toContainText('Revenue & Margin');
  await expect(panel.locator('[data-testid=margin-unset]')).toHaveCount(0);

  const cells = (table: string, line: string) =>
    panel.locator(`table[data-testid=${table}] tr[data-line="${line}"] td:not([data-label=Credits])`);
  for (const [table, lines] of [
    ['margin-by-tier', ['Pro', 'Plus', 'Free']],
    ['margin-by-provider', ['NanoBanana', 'Seedream']],
  ] as const) {
    for (const line of lines) await expect(cells(table, line), line).toHaveText(EXPECTED[line]);
    await expect(cells(table, 'total'), `${table} total`).toHaveText(TOTAL);
    const order = await panel.locator(`table[data-testid=${table}] tbody tr`).evaluateAll((rows) => rows.map((r) => r.getAttribute('data-line')));
    expect(order).toEqual(lines);
  }
  await expect(panel.locator('tr[data-line=Pro] th')).toContainText('$0.008 per credit');
  await expect(panel.locator('tr[data-line=Plus] td[data-label=Credits]')).toHaveText('100');

  await noSidewaysScroll(page);
  for (const table of ['margin-by-tier', 'margin-by-provider']) {
    const values = panel.locator(`table[data-testid=${table}] td[data-label]`);
    expect(await values.count(), `${table} cells`).toBe(table === 'margin-by-tier' ? 20 : 15);
    // Every cell drawn, with its label, inside the screen's width.
    const boxes = await values.evaluateAll((cells) =>
      cells.map((cell) => {
        const box = cell.getBoundingClientRect();
        return { text: cell.textContent, label: getComputedStyle(cell, '::before').content, left: box.left, right: box.right, height: box.height };
      }),
    );
    for (const [i, box] of boxes.entries()) {
      expect(box.height, `${table} cell ${i} drawn`).toBeGreaterThan(0);
      expect(box.left, `${table} cell ${i} left`).toBeGreaterThanOrEqual(0);
      expect(box.right, `${table} cell ${i} right`).toBeLessThanOrEqual(WIDTH + 0.5);
      expect(box.label, `${table} cell ${i} is named`).not.toBe('none');
    }
    await onScreen(page, `table[data-testid=${table}] tfoot td[data-label=Margin]`, `${table} total margin`);
  }

  const stats = await (await request.get(valued.url + '/api/admin/credit-stats', { headers: valued.statsHeaders })).json();
  expect(stats.creditValuesUnset).toEqual([]);
  const total = stats.margin.total;
  expect([total.creditsConsumed, total.revenue, total.cost, total.margin]).toEqual([380, 3, 2.99, 0.01]);
  expect(total.marginPercent).toBeCloseTo(100 / 300, 12);
  expect(stats.margin.byTier.map((t: { tier: string }) => t.tier)).toEqual(['pro', 'plus', 'free']);
  expect(errors).toEqual([]);
});

test('without credit values, the panel says which settings to set instead of zeros', async ({ page, request }) => {
  const errors = await collectErrors(page);
  await openDashboard(page, unset.url);
  const panel = page.locator('section[data-testid=margin]');
  const notice = panel.locator('[data-testid=margin-unset]');
  await notice.scrollIntoViewIfNeeded();
  await expect(notice).toContainText('Revenue and margin need what one credit earns in every tier');
  for (const tier of ['free', 'plus', 'pro']) {
    const line = notice.locator(`li[data-tier=${tier}]`);
    await expect(line).toContainText(`credit-value-usd-${tier}`);
    await expect(line).toContainText(`USAGE_MONITOR_CREDIT_VALUE_USD_${tier.toUpperCase()}`);
  }
  await expect(panel.locator('table')).toHaveCount(0);
  await expect(panel).not.toContainText('$0.00');
  await noSidewaysScroll(page);
  await onScreen(page, 'section[data-testid=margin] li[data-tier=pro]', 'the last setting named');

  const stats = await (await request.get(unset.url + '/api/admin/credit-stats', { headers: unset.statsHeaders })).json();
  expect(stats.margin).toBeNull();
  expect(stats.creditValuesUnset).toEqual(['free', 'plus', 'pro']);
  expect(errors).toEqual([]);
});
