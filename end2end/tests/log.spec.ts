// The generations log and the user pages: an admin filters the log, pages through it by key,
// follows a row to its user, and from the user back to the user's generations.

import { expect, Page, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { MINUTE, SECOND, count, dollars, generation, micros } from './events';
import { collectErrors, hydrated, signIn } from './page';
import { Seed, seed } from './seed';
import { Server, startServer } from './server';

const LOG_PATH = '/admin/generations';

let data: Seed;
let server: Server;

/** 120 more generations of one user, a minute apart and older than the seed's, so that the
 *  log has three pages; every fourth failed. */
const EXTRA = Array.from({ length: 120 }, (_, i) => ({
  id: `m${String(i).padStart(3, '0')}`,
  user_id: 'u_many',
  provider: 'Seedream',
  status: (i % 4 === 0 ? 'failed' : 'succeeded') as 'failed' | 'succeeded',
  credits: 1,
  cost_usd: '0.01',
  created: 0,
}));

test.use({ viewport: { width: 1280, height: 900 } });

test.beforeAll(async () => {
  data = seed();
  for (const [i, g] of EXTRA.entries()) g.created = data.clock.at(2 * 24 * 60 * MINUTE + i * MINUTE);
  server = await startServer({
    events: [...data.events, ...EXTRA.map(generation)],
    env: { ...data.env, USAGE_MONITOR_REFRESH_SECONDS: '3600' },
  });
});

test.afterAll(async () => {
  await server?.stop();
});

/** Every seeded generation, newest first, ties by id (last first). */
function newestFirst() {
  return [...data.generations, ...EXTRA].sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : -1));
}

async function shownIds(page: Page): Promise<string[]> {
  return page.locator('table[data-testid=generations] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-generation')!));
}

/** Waits until the log shows exactly these generations, in this order: after a click the
 *  URL changes before the new page's rows arrive. */
async function expectShown(page: Page, ids: string[]) {
  await expect.poll(() => shownIds(page)).toEqual(ids);
}

async function openLog(page: Page, query = '') {
  await signIn(page.request, server.url);
  const response = await page.goto(`${server.url}${LOG_PATH}${query}`);
  expect(response?.status()).toBe(200);
  await hydrated(page);
}

test('the log pages through every generation by key, newest first', async ({ page }) => {
  const errors = await collectErrors(page);
  await openLog(page);
  const all = newestFirst().map((g) => g.id);
  const seen: string[] = [];
  const sizes = [50, 50, all.length - 100];
  expect(sizes[2]).toBeGreaterThan(0);
  for (const size of sizes) {
    await expect(page.locator('table[data-testid=generations] tbody tr')).toHaveCount(size);
    const ids = await shownIds(page);
    seen.push(...ids);
    if (seen.length < all.length) {
      await page.getByRole('link', { name: 'Next page →' }).click();
      await expect(page).toHaveURL(/before=/);
      await expect(page.locator('table[data-testid=generations] tbody tr').first()).not.toHaveAttribute('data-generation', ids[0]);
    }
  }
  expect(seen).toEqual(all);
  await expect(page.locator('[data-testid=next-page]')).toHaveCount(0);
  await page.getByRole('link', { name: '← First page' }).click();
  await expect(page).toHaveURL(`${server.url}${LOG_PATH}`);
  await expectShown(page, all.slice(0, 50));
  expect(errors).toEqual([]);
});

test('filters narrow the log and live in the URL; a row leads to its user and back', async ({ page }) => {
  const errors = await collectErrors(page);
  await openLog(page);

  await test.step('failed ones of one provider', async () => {
    await page.getByLabel('Status', { exact: true }).selectOption('failed');
    await page.getByLabel('Provider', { exact: true }).fill('Kling');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect(page).toHaveURL(/status=failed/);
    await expect(page).toHaveURL(/provider=Kling/);
    const expected = newestFirst().filter((g) => g.status === 'failed' && g.provider === 'Kling');
    await expectShown(page, expected.map((g) => g.id));
    const first = page.locator('table[data-testid=generations] tbody tr').first();
    await expect(first.locator('.status')).toHaveText('failed');
    // The export carries the filters and holds the same rows.
    const exportLink = page.getByRole('link', { name: 'Export generations as CSV' });
    await expect(exportLink).toHaveAttribute('href', '/api/admin/export/generations.csv?provider=Kling&status=failed');
    const download = page.waitForEvent('download');
    await exportLink.click();
    const csv = readFileSync((await (await download).path())!, 'utf8');
    const lines = csv.trim().split('\n');
    expect(lines[0]).toBe('id,user_id,provider,model,status,credits,refunded_credits,cost_usd,created_at,completed_at,error');
    expect(lines.slice(1).map((line) => line.split(',')[0])).toEqual(expected.map((g) => g.id));
    await expect(first.locator('td').nth(5)).toHaveText('10'); // g_fail2's refund
  });

  await test.step('the user of a row', async () => {
    await page.goto(`${server.url}${LOG_PATH}?user=u_plus1`);
    const expected = newestFirst().filter((g) => g.user_id === 'u_plus1');
    await expectShown(page, expected.map((g) => g.id));
    await page.locator('table[data-testid=generations] tbody tr').first().getByRole('link', { name: 'u_plus1' }).click();
    await expect(page).toHaveURL(`${server.url}/admin/users/u_plus1`);
    await expect(page.locator('[data-testid=user-id]')).toHaveText('u_plus1');
    await expect(page.locator('[data-testid=user-tier] dd')).toHaveText('Plus');
    await expect(page.locator('[data-testid=user-balance] dd')).toHaveText('120 credits');
    const succeeded = expected.filter((g) => g.status === 'succeeded').length;
    const failed = expected.filter((g) => g.status === 'failed');
    await expect(page.locator('[data-testid=user-generations] dd')).toHaveText(String(expected.length));
    await expect(page.locator('[data-testid=user-succeeded] dd')).toHaveText(String(succeeded));
    await expect(page.locator('[data-testid=user-failed] dd')).toHaveText(String(failed.length));
    await expect(page.locator('[data-testid=user-pending] dd')).toHaveText('0');
    await expect(page.locator('[data-testid=user-spend] dd')).toHaveText(dollars(expected.reduce((s, g) => s + micros(g.cost_usd), 0)));
    await expect(page.locator('[data-testid=user-credits-used] dd')).toHaveText(count(expected.reduce((s, g) => s + g.credits, 0)));
    // g_fail1 and g_d10 were refunded 2 credits each.
    await expect(page.locator('[data-testid=user-credits-refunded] dd')).toHaveText('4');
    const failures = page.locator('table[data-testid=user-failures] tbody tr');
    await expect.poll(() => failures.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-generation')))).toEqual(failed.map((g) => g.id));
    await page.getByRole('link', { name: 'All generations of this user →' }).click();
    await expect(page).toHaveURL(`${server.url}${LOG_PATH}?user=u_plus1`);
    await expectShown(page, expected.map((g) => g.id));
  });
  expect(errors).toEqual([]);
});

test('unknown users and bad filters are explained', async ({ page }) => {
  await signIn(page.request, server.url);
  const unknown = await page.goto(`${server.url}/admin/users/nobody`);
  expect(unknown?.status()).toBe(404);
  await expect(page.locator('[data-testid=unknown-user]')).toContainText('No user “nobody”');
  await page.goto(`${server.url}${LOG_PATH}?status=done`);
  await expect(page.locator('[data-testid=load-error]')).toContainText('Unknown status “done”');
  await page.goto(`${server.url}${LOG_PATH}?before=nonsense`);
  await expect(page.locator('[data-testid=load-error]')).toContainText('not a place in the log');
  // A time range from the dashboard's presets filters by creation time.
  await page.goto(`${server.url}${LOG_PATH}?range=24h`);
  await expect(page.locator('[data-testid=range-note]')).toContainText('Last 24 hours');
  const day = newestFirst().filter((g) => g.created > data.clock.now - 24 * 60 * MINUTE - SECOND);
  await expectShown(page, day.map((g) => g.id));
});

test('refund reconciliation counts failures never refunded and leads to them in the log', async ({ page }) => {
  const errors = await collectErrors(page);
  await signIn(page.request, server.url);
  await page.goto(`${server.url}/admin/credits`);
  // The seed refunds its failures but g_fail3, which is still within the 15 minutes; every
  // fourth of the extra generations failed and none of those was refunded.
  const overdue = EXTRA.filter((g) => g.status === 'failed');
  const card = page.locator('[data-testid=reconciliation]');
  await expect(card.locator('#reconciliation-heading')).toHaveText('Refund Reconciliation (Last 30 Days)');
  await expect(card.locator('[data-testid=unrefunded-failures] dt')).toHaveText('Failed, not refunded after 15 min');
  await expect(card.locator('[data-testid=unrefunded-failures] dd')).toHaveText(count(overdue.length));
  await expect(card.locator('[data-testid=over-refunds] dd')).toHaveText('0');
  await card.locator('[data-testid=unrefunded-failures] a').click();
  await expect(page).toHaveURL(`${server.url}${LOG_PATH}?problem=unrefunded&range=30d`);
  await expect(page.getByLabel('Refund problem', { exact: true })).toHaveValue('unrefunded');
  const expected = newestFirst().filter((g) => overdue.includes(g as (typeof EXTRA)[number]));
  await expectShown(page, expected.slice(0, 50).map((g) => g.id));
  expect(errors).toEqual([]);
});
