// The same server on PostgreSQL: a fresh database of its own, the seeded data set, and the
// page and the JSON API give exactly what they give on SQLite.

import { execFileSync } from 'node:child_process';
import { expect, test } from '@playwright/test';
import { openDashboard } from './page';
import { seed } from './seed';
import { Server, startServer } from './server';

// TEST_POSTGRES_URL names the server's maintenance database, as in the Rust tests.
const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DATABASE = `usage_monitor_e2e_${process.pid}`;

function psql(sql: string): void {
  execFileSync('psql', [ADMIN_URL, '-v', 'ON_ERROR_STOP=1', '-q', '-c', sql], { stdio: 'pipe' });
}

test('PostgreSQL serves the same figures as SQLite', async ({ page }) => {
  const data = seed();
  const env = { ...data.env, USAGE_MONITOR_REFRESH_SECONDS: '3600' };
  psql(`DROP DATABASE IF EXISTS ${DATABASE}`);
  psql(`CREATE DATABASE ${DATABASE}`);
  const servers: Server[] = [];
  try {
    const pgUrl = ADMIN_URL.replace(/\/[^/]*$/, `/${DATABASE}`);
    const postgres = await startServer({ events: data.events, env, dbUrl: pgUrl });
    servers.push(postgres);
    const sqlite = await startServer({ events: data.events, env });
    servers.push(sqlite);

    const figures = async (server: Server) => {
      const stats = await (await page.request.get(`${server.url}/api/admin/credit-stats`, { headers: server.statsHeaders })).json();
      // Each answer's own now: when it was computed, and so where its trend ends.
      delete stats.generatedAt;
      delete stats.trend.end;
      return stats;
    };
    const onPostgres = await figures(postgres);
    expect(onPostgres.todayStats.generations).toBe(data.expected.json.todayGenerations);
    const onSqlite = await figures(sqlite);
    // The projection runs from each answer's own now to the month's end: a moment apart.
    const projected = [onPostgres, onSqlite].map((stats) => stats.monthStats.projectedCost);
    expect(Math.abs(projected[0] - projected[1])).toBeLessThan(0.01);
    for (const stats of [onPostgres, onSqlite]) delete stats.monthStats.projectedCost;
    expect(onPostgres).toEqual(onSqlite);

    await openDashboard(page, postgres.url);
    await expect(page.locator('[data-testid=generations-today] [data-testid=value]')).toHaveText(
      String(data.expected.json.todayGenerations),
    );
    await expect(page.locator('table[data-testid=providers] tbody tr')).toHaveCount(onPostgres.providers.length);
  } finally {
    for (const server of servers) await server.stop();
    psql(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  }
});
