// The command line on a real database: import from a file and from stdin, bad lines by
// number, --strict, `stats --json` (the same figures as the JSON API), admins and API
// tokens, and clear errors.

import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { expect, test } from '@playwright/test';
import { BINARY, REPO_ROOT, childEnv, startServer, tempDir, toJsonl } from './server';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(dbUrl: string, args: string[], input = '', env: Record<string, string> = {}): Run {
  const result = spawnSync(BINARY, args, { cwd: REPO_ROOT, env: childEnv(dbUrl, env), input, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function freshDb(): string {
  return `sqlite://${path.join(tempDir(), 'cli.db')}`;
}

// A fixed day, so that `stats --now` gives figures worked out by hand.
const NOW = '2026-11-15T12:00:00Z';
const EVENTS = [
  { kind: 'user', id: 'u1', tier: 'pro', credits: 100 },
  { kind: 'generation', id: 'g1', user_id: 'u1', provider: 'NanoBanana', status: 'succeeded', credits: 2, cost_usd: '0.1', created_at: '2026-11-15T10:00:00Z' },
  { kind: 'generation', id: 'g2', user_id: 'u1', provider: 'NanoBanana', status: 'succeeded', credits: 2, cost_usd: 0.2, created_at: '2026-11-15T11:00:00+01:00' },
  { kind: 'generation', id: 'g3', user_id: 'u2', provider: 'Seedream', status: 'failed', credits: 3, cost_usd: '0', created_at: '2026-11-14T23:30:00Z', error: 'Network timeout' },
  { kind: 'refund', generation_id: 'g3', credits: 3, at: '2026-11-15T00:10:00Z' },
];

test('import from stdin, then stats --json --now gives the hand-computed figures', () => {
  const db = freshDb();
  const imported = run(db, ['import', '-'], toJsonl(EVENTS));
  expect(imported.status, imported.stderr).toBe(0);
  expect(imported.stderr).toContain('5 events stored, 0 unchanged, 0 lines rejected');

  const again = run(db, ['import', '-'], toJsonl(EVENTS));
  expect(again.status).toBe(0);
  expect(again.stderr, 'a second import counts nothing twice').toContain('0 events stored, 5 unchanged');

  const stats = run(db, ['stats', '--json', '--now', NOW]);
  expect(stats.status, stats.stderr).toBe(0);
  const figures = JSON.parse(stats.stdout);
  expect(figures.generatedAt).toBe('2026-11-15T12:00:00Z');
  expect(figures.todayStats).toEqual({ activeUsers: 1, generations: 2, successful: 2, failed: 0, cost: 0.3 });
  expect(figures.monthStats).toMatchObject({ generations: 3, successful: 2, failed: 1, cost: 0.3, refunds: 1, averageCost: 0.1 });
  expect(figures.successRate).toBeCloseTo(200 / 3, 9);
  expect(figures.systemHealth).toEqual({ status: 'critical', tasksLast24h: 3, failureLast24h: 1, failureRate: 100 / 3 });
  expect(figures.userStats.creditsByTier).toEqual({
    free: { count: 1, totalCredits: 0, totalConsumed: 0 },
    plus: { count: 0, totalCredits: 0, totalConsumed: 0 },
    pro: { count: 1, totalCredits: 100, totalConsumed: 4 },
  });
  expect(figures.recentFailures).toEqual([
    { id: 'g3', provider: 'Seedream', error: 'Network timeout', time: '2026-11-14T23:30:00Z' },
  ]);

  // In Berlin (UTC+1) g3 was created on the 15th too, so it counts as today.
  const berlin = JSON.parse(run(db, ['stats', '--json', '--now', NOW], '', { USAGE_MONITOR_TZ: 'Europe/Berlin' }).stdout);
  expect(berlin.timeZone).toBe('Europe/Berlin');
  expect(berlin.todayStats.generations).toBe(3);
  expect(berlin.recentFailures[0].time).toBe('2026-11-15T00:30:00+01:00');

  const text = run(db, ['stats', '--now', NOW]);
  expect(text.status).toBe(0);
  expect(text.stdout).toContain('Today: 1 active users, 2 generations (0 failed), cost $0.30');
});

test('stats --json prints what GET /api/admin/credit-stats answers', async ({ request }) => {
  const server = await startServer({ events: EVENTS });
  try {
    const api = await (await request.get(`${server.url}/api/admin/credit-stats`, { headers: server.statsHeaders })).json();
    const cli = JSON.parse(run(server.dbUrl, ['stats', '--json']).stdout);
    // Each answer's own now: when it was computed, and so where its trend ends and what
    // is left of the month to project.
    expect(Math.abs(cli.monthStats.projectedCost - api.monthStats.projectedCost)).toBeLessThan(0.01);
    for (const stats of [api, cli]) {
      delete stats.generatedAt;
      delete stats.trend.end;
      delete stats.monthStats.projectedCost;
    }
    expect(cli).toEqual(api);
  } finally {
    await server.stop();
  }
});

test('bad lines are reported by number; the valid ones are stored, or none with --strict', () => {
  const lines = [
    JSON.stringify(EVENTS[0]),
    '{"kind":"user","id":"u9"',
    JSON.stringify({ kind: 'refund', generation_id: 'nope', credits: 1, at: NOW }),
    JSON.stringify(EVENTS[1]),
  ].join('\n');

  const strictDb = freshDb();
  const strict = run(strictDb, ['import', '--strict', '-'], lines);
  expect(strict.status).toBe(1);
  expect(strict.stderr).toContain('line 2: not valid JSON');
  expect(strict.stderr).toContain('line 3: refund for unknown generation "nope"');
  expect(strict.stderr).toContain('nothing stored (--strict): 2 lines rejected');
  expect(JSON.parse(run(strictDb, ['stats', '--json', '--now', NOW]).stdout).todayStats.generations).toBe(0);

  const db = freshDb();
  const lenient = run(db, ['import', '-'], lines);
  expect(lenient.status).toBe(1);
  expect(lenient.stderr).toContain('2 events stored, 0 unchanged, 2 lines rejected');
  expect(JSON.parse(run(db, ['stats', '--json', '--now', NOW]).stdout).todayStats.generations).toBe(1);
});

test('mistakes on the command line and in settings are named', () => {
  const db = freshDb();
  const missing = run(db, ['import', path.join(tempDir(), 'missing.jsonl')]);
  expect(missing.status).toBe(1);
  expect(missing.stderr).toMatch(/cannot open .*missing\.jsonl/);

  const badNow = run(db, ['stats', '--now', 'yesterday']);
  expect(badNow.status).toBe(2);
  expect(badNow.stderr).toContain('"yesterday" is not an RFC 3339 timestamp');

  const badZone = run(db, ['stats'], '', { USAGE_MONITOR_TZ: 'Mars/Olympus' });
  expect(badZone.status).toBe(1);
  expect(badZone.stderr).toContain('time zone "Mars/Olympus" is not an IANA time zone name');

  const badUrl = run('mysql://localhost/x', ['stats']);
  expect(badUrl.status).toBe(1);
  expect(badUrl.stderr).toContain('is neither sqlite: nor postgres:');
});

test('demo --if-empty fills an empty database once', () => {
  const db = freshDb();
  const first = run(db, ['demo', '--if-empty']);
  expect(first.status, first.stderr).toBe(0);
  expect(first.stderr).toMatch(/demo data stored \(\d+ events\)/);
  const stats = JSON.parse(run(db, ['stats', '--json']).stdout);
  expect(stats.todayStats.generations).toBeGreaterThanOrEqual(30);
  expect(stats.monthStats.generations).toBeGreaterThanOrEqual(stats.todayStats.generations);
  expect(stats.providers.length).toBe(3);
  const calls = stats.providers.reduce((sum: number, p: { totalCalls: number }) => sum + p.totalCalls, 0);
  expect(calls, 'hundreds in the last 30 days').toBeGreaterThan(500);
  expect(stats.recentFailures.length).toBeGreaterThan(0);
  expect(stats.monthStats.refunds).toBeGreaterThan(0);
  for (const tier of ['free', 'plus', 'pro']) expect(stats.userStats.creditsByTier[tier].count).toBeGreaterThan(0);

  const second = run(db, ['demo', '--if-empty']);
  expect(second.status).toBe(0);
  expect(second.stderr).toContain('already has data');
  expect(JSON.parse(run(db, ['stats', '--json']).stdout).monthStats.generations).toBe(stats.monthStats.generations);
});

test('admins and API tokens are managed on the command line, and audited', async ({ request }) => {
  const db = freshDb();
  const short = run(db, ['create-admin', '--email', 'ann@example.com'], 'short\n');
  expect(short.status).toBe(1);
  expect(short.stderr).toContain('the password has 5 characters; it needs at least 12');

  const generated = run(db, ['create-admin', '--email', 'Ann@Example.com', '--generate-password']);
  expect(generated.status, generated.stderr).toBe(0);
  const password = generated.stdout.trim();
  expect(password.length).toBeGreaterThanOrEqual(32);
  expect(generated.stderr).toMatch(/action="admin_created" email=ann@example.com address="command line"/);
  expect(run(db, ['create-admin', '--email', 'ann@example.com'], 'another long password\n').stderr).toContain(
    'an admin with the email ann@example.com exists already',
  );

  const created = run(db, ['create-token', '--name', 'platform', '--scope', 'ingest']);
  expect(created.status, created.stderr).toBe(0);
  const token = created.stdout.trim();
  expect(token).toMatch(/^um_ingest_[A-Za-z0-9_-]{43}$/);
  expect(created.stderr).toMatch(/action="token_created" name=platform scope="ingest" address="command line"/);
  expect(run(db, ['create-token', '--name', 'x', '--scope', 'admin']).status).toBe(2);

  const server = await startServer({ dbUrl: db });
  try {
    const send = () =>
      request.post(`${server.url}/api/v1/events`, {
        headers: { Authorization: `Bearer ${token}` },
        data: { kind: 'user', id: 'u1', tier: 'pro', credits: 5 },
      });
    expect(await (await send()).json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });

    const listed = run(db, ['list-tokens']);
    expect(listed.stdout).toMatch(/^platform\s+ingest\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC\s+-$/m);
    expect(listed.stdout).not.toContain(token.slice(10));

    const revoked = run(db, ['revoke-token', 'platform']);
    expect(revoked.status, revoked.stderr).toBe(0);
    expect(revoked.stderr).toMatch(/action="token_revoked" name=platform address="command line"/);
    expect((await send()).status()).toBe(401);
    expect(run(db, ['revoke-token', 'platform']).stderr).toContain('no active token is named "platform"');
  } finally {
    await server.stop();
  }
});
