// The seeded data set of the dashboard tests, relative to now, with the figures the page
// must show for it, worked out by hand from the events below.
//
// Everything of "today" happened in the last 10 minutes, and the reporting zone is chosen
// (see reportingZone) so that those minutes are all in the local today and this month.
// Whether events 3, 6 and 10 days old fall into "this month" depends on the date, so the
// month figures and credits consumed this month are summed from the events that do.

import {
  Clock,
  DAY,
  GenerationSpec,
  HOUR,
  MINUTE,
  SECOND,
  Tier,
  Zone,
  binnedLatency,
  count,
  dollars,
  generation,
  micros,
  monthStart,
  percent,
  refund,
  reportingZone,
  user,
} from './events';

export interface Seed {
  clock: Clock;
  zone: Zone;
  /** Environment for the server: the reporting zone. */
  env: Record<string, string>;
  events: object[];
  generations: GenerationSpec[];
  expected: Expected;
}

export interface Expected {
  health: { status: string; label: string; detail: string };
  cards: Record<'active-users-today' | 'generations-today' | 'success-rate-7d' | 'cost-today', { value: string; subtitle: string }>;
  month: Record<'month-generations' | 'month-cost' | 'month-success-rate' | 'month-average-cost' | 'month-refunds', string>;
  /** Provider rows in order: name, calls, success %, failed, p50, p95, total cost. */
  providers: string[][];
  /** Tier rows by tier: label, users, total credits, consumed this month. */
  tiers: Record<Tier, string[]>;
  circulation: string;
  /** Recent failures in order: id, provider, error text, created (ms). */
  failures: { id: string; provider: string; error: string; created: number }[];
  json: {
    todayGenerations: number;
    todayFailed: number;
    activeUsers: number;
    todayCostDollars: number;
    monthGenerations: number;
    refundsLast7Days: number;
    usersWithCredits: number;
    totalCreditsInCirculation: number;
    tasksLast24h: number;
    failureLast24h: number;
  };
}

const USERS: [string, Tier, number][] = [
  ['u_pro1', 'pro', 500],
  ['u_pro2', 'pro', 1200],
  ['u_plus1', 'plus', 120],
  ['u_plus2', 'plus', 0],
  ['u_free1', 'free', 10],
  ['u_free2', 'free', 0],
  ['u_free3', 'free', 5],
];

export const HTML_ERROR = '<b>bold</b> upstream error';

export function seed(now: number = Date.now()): Seed {
  const clock = new Clock(now);
  const zone = reportingZone(clock.now);
  const t = (ms: number) => clock.at(ms);
  const gen = (
    id: string,
    user_id: string,
    provider: string,
    status: GenerationSpec['status'],
    credits: number,
    cost_usd: string,
    created: number,
    error?: string,
  ): GenerationSpec => ({ id, user_id, provider, status, credits, cost_usd, created, error });

  const generations: GenerationSpec[] = [
    // Today, all in the last 10 minutes.
    gen('g_ok1', 'u_pro1', 'NanoBanana', 'succeeded', 2, '0.039', t(20 * SECOND)),
    gen('g_ok2', 'u_pro1', 'NanoBanana', 'succeeded', 2, '0.039', t(40 * SECOND)),
    gen('g_ok3', 'u_plus1', 'NanoBanana', 'succeeded', 2, '0.039', t(2 * MINUTE)),
    gen('g_ok4', 'u_pro2', 'Seedream', 'succeeded', 5, '1.25', t(3 * MINUTE)),
    gen('g_ok5', 'u_free1', 'Seedream', 'succeeded', 5, '1.25', t(4 * MINUTE)),
    gen('g_fail1', 'u_plus1', 'NanoBanana', 'failed', 2, '0.039', t(30 * SECOND), 'Network timeout'),
    gen('g_fail2', 'u_pro2', 'Kling', 'failed', 10, '0', t(5 * MINUTE + 30 * SECOND), HTML_ERROR),
    // No error text: listed as "Unknown error".
    gen('g_fail3', 'u_free1', 'Kling', 'failed', 10, '0', t(8 * MINUTE + 30 * SECOND)),
    gen('g_pend', 'u_pro1', 'Seedream', 'pending', 5, '0', t(10 * SECOND)),
    // Last 7 days, not last 24 hours.
    gen('g_d3', 'u_free3', 'Seedream', 'failed', 5, '1.25', t(3 * DAY), 'Content policy violation'),
    gen('g_flux1', 'u_plus2', 'Flux', 'succeeded', 3, '617.285', t(6 * DAY)),
    gen('g_flux2', 'u_plus2', 'Flux', 'succeeded', 3, '617.285', t(6 * DAY + HOUR)),
    // Last 30 days, not last 7 days.
    gen('g_d10', 'u_plus1', 'NanoBanana', 'failed', 2, '0.039', t(10 * DAY), 'Old failure'),
    // Older than 30 days: in no window (no "Veo" row).
    gen('g_d40', 'u_pro1', 'Veo', 'succeeded', 20, '3.5', t(40 * DAY)),
  ];
  const refunds: [string, number, number][] = [
    ['g_fail1', 2, t(25 * SECOND)],
    ['g_fail2', 10, t(5 * MINUTE)],
    ['g_d3', 5, t(3 * DAY - 30 * SECOND)],
    ['g_d10', 2, t(10 * DAY - MINUTE)],
  ];
  const events = [
    ...USERS.map(([id, tier, credits]) => user(id, tier, credits, `${id}@example.com`)),
    ...generations.map(generation),
    ...refunds.map(([id, credits, at]) => refund(id, credits, at)),
  ];

  // This month, summed from the events that fall into it.
  const since = monthStart(clock.now, zone);
  const inMonth = (ms: number) => ms >= since;
  const monthGens = generations.filter((g) => inMonth(g.created));
  const monthSucceeded = monthGens.filter((g) => g.status === 'succeeded').length;
  const monthFailed = monthGens.filter((g) => g.status === 'failed').length;
  const monthCost = monthGens.reduce((sum, g) => sum + micros(g.cost_usd), 0);
  const monthRefunds = refunds.filter(([, , at]) => inMonth(at)).length;
  const tierOf = new Map(USERS.map(([id, tier]) => [id, tier]));
  const refunded = new Map(refunds.map(([id, credits]) => [id, credits]));
  const consumed: Record<Tier, number> = { free: 0, plus: 0, pro: 0 };
  for (const g of monthGens) {
    consumed[tierOf.get(g.user_id)!] += g.credits - (refunded.get(g.id) ?? 0);
  }

  // Every finished generation completed 20 s after it was created (events.ts): its
  // median and 95th percentile latency are that 20 s as the page reads it from its bin.
  const took = binnedLatency(20 * SECOND);

  // Today: g_ok1..5 (5 succeeded), g_fail1..3 (3 failed), g_pend; cost 3 × 0.039 + 2 × 1.25
  // + 0.039 = 2.656; users pro1, plus1, pro2, free1.
  // Last 24 h: the same 9, 3 of 8 finished failed: 37.5 %, critical.
  // Last 7 days: 5 + 2 (Flux) succeeded, 3 + 1 (g_d3) failed: 7 / 11; refunds of g_fail1,
  // g_fail2, g_d3.
  const expected: Expected = {
    health: { status: 'critical', label: 'Critical', detail: '9 tasks in last 24h · 3 failed (37.5%)' },
    cards: {
      'active-users-today': { value: '4', subtitle: '5 with credits' },
      'generations-today': { value: '9', subtitle: '3 failed' },
      'success-rate-7d': { value: '63.6%', subtitle: '3 refunds issued' },
      'cost-today': { value: '$2.66', subtitle: 'WaveSpeed charges' },
    },
    month: {
      'month-generations': count(monthGens.length),
      'month-cost': dollars(monthCost),
      'month-success-rate': percent(monthSucceeded, monthSucceeded + monthFailed),
      'month-average-cost': dollars(monthGens.length ? Math.round(monthCost / monthGens.length) : 0),
      'month-refunds': count(monthRefunds),
    },
    // Last 30 days; busiest first, ties by name (Flux before Kling).
    providers: [
      // g_ok1, g_ok2, g_ok3, g_fail1, g_d10: 5 × 0.039 = 0.195, rounds up to $0.20.
      ['NanoBanana', '5', '60.0%', '2', took, took, '$0.20'],
      // g_ok4, g_ok5, g_pend (pending: no rate), g_d3: 3 × 1.25.
      ['Seedream', '4', '66.7%', '1', took, took, '$3.75'],
      ['Flux', '2', '100.0%', '0', took, took, '$1,234.57'],
      ['Kling', '2', '0.0%', '2', took, took, '$0.00'],
    ],
    tiers: {
      pro: ['Pro', '2', '1,700', count(consumed.pro)],
      plus: ['Plus', '2', '120', count(consumed.plus)],
      free: ['Free', '3', '15', count(consumed.free)],
    },
    circulation: '1,835 credits in circulation · 5 users with credits',
    // Newest first; g_d10 is older than 7 days.
    failures: [
      { id: 'g_fail1', provider: 'NanoBanana', error: 'Network timeout', created: t(30 * SECOND) },
      { id: 'g_fail2', provider: 'Kling', error: HTML_ERROR, created: t(5 * MINUTE + 30 * SECOND) },
      { id: 'g_fail3', provider: 'Kling', error: 'Unknown error', created: t(8 * MINUTE + 30 * SECOND) },
      { id: 'g_d3', provider: 'Seedream', error: 'Content policy violation', created: t(3 * DAY) },
    ],
    json: {
      todayGenerations: 9,
      todayFailed: 3,
      activeUsers: 4,
      todayCostDollars: 2.656,
      monthGenerations: monthGens.length,
      refundsLast7Days: 3,
      usersWithCredits: 5,
      totalCreditsInCirculation: 1835,
      tasksLast24h: 9,
      failureLast24h: 3,
    },
  };

  return { clock, zone, env: { USAGE_MONITOR_TZ: zone.name }, events, generations, expected };
}
