// Error groups: failures whose messages differ only in numbers and ids are one group on the
// dashboard, and a group's link opens the log filtered to exactly its failures.

import { spawnSync } from 'node:child_process';
import { expect, Page, test } from '@playwright/test';
import { Clock, DAY, GenerationSpec, HOUR, MINUTE, generation, user } from './events';
import { collectErrors, hydrated, signIn } from './page';
import { BINARY, REPO_ROOT, Server, childEnv, startServer } from './server';

const clock = new Clock();
const RATE = 'Provider rate limit exceeded (HTTP 429), retry after <n>s';
const POLICY = 'Content policy violation (request id: req_<id>)';
const TASK = 'Task <uuid> failed: model overloaded';
const HTTP_500 = 'Upstream error (HTTP 500)';

function failure(id: string, provider: string, ago: number, error: string): GenerationSpec {
  return { id, user_id: 'u1', provider, status: 'failed', credits: 2, cost_usd: '0', created: clock.at(ago), error };
}

const FAILURES: [string, GenerationSpec][] = [
  [RATE, failure('r1', 'NanoBanana', 1 * HOUR, 'Provider rate limit exceeded (HTTP 429), retry after 12s')],
  [RATE, failure('r2', 'Seedream', 5 * HOUR, 'Provider rate limit exceeded (HTTP 429), retry after 30s')],
  [RATE, failure('r3', 'NanoBanana', 2 * DAY, 'Provider rate limit exceeded (HTTP 429), retry after 5s')],
  [RATE, failure('r4', 'NanoBanana', 6 * DAY, 'Provider rate limit exceeded (HTTP 429), retry after 120s')],
  [RATE, failure('r_old', 'NanoBanana', 10 * DAY, 'Provider rate limit exceeded (HTTP 429), retry after 9s')],
  [POLICY, failure('c1', 'Seedream', 30 * MINUTE, 'Content policy violation (request id: req_8f3a2b9c1d7e)')],
  [POLICY, failure('c2', 'Seedream', 3 * HOUR, 'Content policy violation (request id: req_00a1b22c3d99)')],
  [POLICY, failure('c3', 'Seedream', 3 * DAY, 'Content policy violation (request id: req_77x1y2z3w4v5)')],
  [TASK, failure('t1', 'Kling', 2 * HOUR, 'Task 3f2b8c1e-9d4a-4b7e-a1c2-0e5f6a7b8c9d failed: model overloaded')],
  [TASK, failure('t2', 'NanoBanana', 4 * DAY, 'Task 00000000-0000-4000-8000-000000000000 failed: model overloaded')],
  [HTTP_500, failure('h1', 'Kling', 20 * HOUR, 'Upstream error (HTTP 500)')],
];
const SUCCESSES: GenerationSpec[] = Array.from({ length: 6 }, (_, i) => ({
  id: `ok${i}`, user_id: 'u1', provider: 'NanoBanana', status: 'succeeded', credits: 2, cost_usd: '0.01', created: clock.at((i + 1) * 90 * MINUTE),
}));

let server: Server;

test.use({ viewport: { width: 1280, height: 900 } });

test.beforeAll(async () => {
  server = await startServer({
    events: [user('u1', 'free', 10), ...[...FAILURES.map(([, g]) => g), ...SUCCESSES].map(generation)],
    env: { USAGE_MONITOR_REFRESH_SECONDS: '3600' },
  });
});

test.afterAll(async () => {
  await server?.stop();
});

/** The failures of `group` created less than `days` ago, newest first. */
function failuresOf(group: string, days: number): GenerationSpec[] {
  return FAILURES.filter(([g, f]) => g === group && f.created > clock.at(days * DAY))
    .map(([, f]) => f)
    .sort((a, b) => b.created - a.created);
}

async function open(page: Page, path: string) {
  await signIn(page.request, server.url);
  expect((await page.goto(`${server.url}${path}`))?.status()).toBe(200);
  await hydrated(page);
}

async function shownIds(page: Page): Promise<string[]> {
  return page.locator('table[data-testid=generations] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-generation')!));
}

test('the dashboard groups failures whose messages differ in numbers and ids', async ({ page }) => {
  const errors = await collectErrors(page);
  await open(page, '/admin/credits');
  const panel = page.locator('[data-testid=error-groups]');
  await expect(panel.getByRole('heading')).toHaveText('Error Groups (Last 7 Days)');
  // Newest last failure first.
  const rows = panel.locator('tbody tr');
  await expect(rows).toHaveCount(4);
  const expected = [POLICY, RATE, TASK, HTTP_500];
  for (const [i, group] of expected.entries()) {
    const row = rows.nth(i);
    await expect(row).toHaveAttribute('data-group', group);
    await expect(row.getByRole('link')).toHaveText(group);
    await expect(row.locator('[data-testid=group-count]')).toHaveText(String(failuresOf(group, 7).length));
  }
  await expect(rows.nth(1).locator('td').nth(1)).toHaveText('NanoBanana, Seedream');
  await expect(rows.nth(0).getByRole('link')).toHaveAttribute('title', `Newest: ${failuresOf(POLICY, 7)[0].error}`);
  expect(errors).toEqual([]);
});

test("a group's link opens the log filtered to exactly its failures", async ({ page }) => {
  const errors = await collectErrors(page);
  await open(page, '/admin/credits');
  const link = page.locator('[data-testid=error-groups] tbody tr').filter({ hasText: RATE }).getByRole('link');
  await link.click();
  await expect(page).toHaveURL(/\/admin\/generations\?group=.*range=7d/);
  await expect.poll(() => shownIds(page)).toEqual(failuresOf(RATE, 7).map((g) => g.id));
  await expect(page.locator('[data-testid=group-filter] code')).toHaveText(RATE);
  const statuses = page.locator('table[data-testid=generations] tbody .status');
  await expect(statuses).toHaveText(Array(4).fill('failed'));

  // Removing the filter keeps the range and shows every generation of it.
  await page.locator('[data-testid=clear-group]').click();
  await expect(page.locator('[data-testid=group-filter]')).toHaveCount(0);
  const inRange = [...FAILURES.map(([, g]) => g), ...SUCCESSES].filter((g) => g.created > clock.at(7 * DAY));
  await expect.poll(async () => (await shownIds(page)).length).toBe(inRange.length);
  expect(errors).toEqual([]);
});

test("with a range chosen, the groups and their links cover it", async ({ page }) => {
  const errors = await collectErrors(page);
  await open(page, '/admin/credits?range=30d');
  const row = page.locator('[data-testid=error-groups] tbody tr').filter({ hasText: RATE });
  await expect(row.locator('[data-testid=group-count]')).toHaveText('5');
  await row.getByRole('link').click();
  await expect(page).toHaveURL(/range=30d/);
  await expect.poll(() => shownIds(page)).toEqual(failuresOf(RATE, 30).map((g) => g.id));
  expect(errors).toEqual([]);
});

test('the JSON API and stats --json hold the same groups', async ({ request }) => {
  const api = await (await request.get(`${server.url}/api/admin/credit-stats`, { headers: server.statsHeaders })).json();
  const groups = api.errorGroups.map((g: { pattern: string; count: number; providers: string[] }) => [g.pattern, g.count, g.providers]);
  expect(groups).toEqual([
    [POLICY, 3, ['Seedream']],
    [RATE, 4, ['NanoBanana', 'Seedream']],
    [TASK, 2, ['Kling', 'NanoBanana']],
    [HTTP_500, 1, ['Kling']],
  ]);
  expect(api.errorGroups[1].example).toBe(failuresOf(RATE, 7)[0].error);
  expect(Date.parse(api.errorGroups[1].firstSeen)).toBe(failuresOf(RATE, 7).at(-1)!.created);
  const cli = spawnSync(BINARY, ['stats', '--json', '--now', api.generatedAt], { cwd: REPO_ROOT, env: childEnv(server.dbUrl, {}), encoding: 'utf8', timeout: 30_000 });
  expect(cli.status, cli.stderr).toBe(0);
  expect(JSON.parse(cli.stdout).errorGroups).toEqual(api.errorGroups);
});
