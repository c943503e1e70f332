// Building events relative to now, and how the dashboard writes figures, for the tests.

export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export type Tier = 'free' | 'plus' | 'pro';
export type Status = 'pending' | 'succeeded' | 'failed';

/** `ms` milliseconds before `now`, as an ISO 8601 (UTC) string. */
export function ago(ms: number, now: number = Date.now()): string {
  return new Date(now - ms).toISOString();
}

/** A fixed "now" for one data set, in whole seconds, with helpers for times before it. */
export class Clock {
  readonly now: number;

  constructor(now: number = Date.now()) {
    this.now = Math.floor(now / SECOND) * SECOND;
  }

  /** `ms` before now, in milliseconds since the epoch. */
  at(ms: number): number {
    return this.now - ms;
  }

  ago(ms: number): string {
    return ago(ms, this.now);
  }
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function user(id: string, tier: Tier, credits: number, email?: string): object {
  return { kind: 'user', id, tier, credits, ...(email ? { email } : {}) };
}

export interface GenerationSpec {
  id: string;
  user_id: string;
  provider: string;
  status: Status;
  credits: number;
  /** Dollars, as a decimal string (exact). */
  cost_usd: string;
  /** Milliseconds since the epoch. */
  created: number;
  error?: string;
}

export function generation(g: GenerationSpec): object {
  return {
    kind: 'generation',
    id: g.id,
    user_id: g.user_id,
    provider: g.provider,
    status: g.status,
    credits: g.credits,
    cost_usd: g.cost_usd,
    created_at: iso(g.created),
    ...(g.status === 'pending' ? {} : { completed_at: iso(g.created + 20 * SECOND) }),
    ...(g.error !== undefined ? { error: g.error } : {}),
  };
}

export function refund(generation_id: string, credits: number, at: number): object {
  return { kind: 'refund', generation_id, credits, at: iso(at) };
}

// ---------------------------------------------------------------------------------------
// The reporting time zone.

export interface Zone {
  /** IANA name, for USAGE_MONITOR_TZ. */
  name: string;
  /** Fixed offset from UTC in minutes (east positive). */
  offsetMinutes: number;
}

/**
 * UTC, unless it is close to midnight UTC: then UTC+2 (`Etc/GMT-2`, POSIX signs are
 * inverted), so that events of the last few minutes are all "today" and "this month" of the
 * reporting zone no matter when the tests run.
 */
export function reportingZone(now: number = Date.now()): Zone {
  const sinceMidnight = now % DAY;
  if (sinceMidnight < 20 * MINUTE || sinceMidnight > DAY - 10 * MINUTE) {
    return { name: 'Etc/GMT-2', offsetMinutes: 120 };
  }
  return { name: 'UTC', offsetMinutes: 0 };
}

/** The first instant of the month of `now` in `zone`. */
export function monthStart(now: number, zone: Zone): number {
  const offset = zone.offsetMinutes * MINUTE;
  const local = new Date(now + offset);
  return Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), 1) - offset;
}

// ---------------------------------------------------------------------------------------
// How the page writes figures (crates/model/src/format.rs).

export const NO_RATE = '—';

/** `1,234`. */
export function count(n: number): string {
  const digits = String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return n < 0 ? `-${digits}` : digits;
}

/** `$1,234.57` from millionths of a dollar, rounded half away from zero to the cent. */
export function dollars(micros: number): string {
  const cents = Math.floor((Math.abs(micros) + 5_000) / 10_000);
  const text = `$${count(Math.floor(cents / 100))}.${String(cents % 100).padStart(2, '0')}`;
  return micros < 0 ? `-${text}` : text;
}

/** `part / whole` as `94.2%`, or `—` when whole is 0. */
export function percent(part: number, whole: number): string {
  return whole === 0 ? NO_RATE : `${((part * 100) / whole).toFixed(1)}%`;
}

/** `2026-11-03 09:15:00 +00:00`. */
export function exactTime(ms: number, zone: Zone): string {
  const local = new Date(ms + zone.offsetMinutes * MINUTE).toISOString(); // 2026-11-03T09:15:00.000Z
  const sign = zone.offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(zone.offsetMinutes);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${local.slice(0, 10)} ${local.slice(11, 19)} ${offset}`;
}

/** `just now`, `5 minutes ago`, `2 hours ago`, `3 days ago`. */
export function relativeTime(then: number, now: number): string {
  const seconds = Math.trunc((now - then) / SECOND);
  if (seconds < 60) return 'just now';
  const [n, unit] =
    seconds < 3_600 ? [Math.floor(seconds / 60), 'minute'] : seconds < 86_400 ? [Math.floor(seconds / 3_600), 'hour'] : [Math.floor(seconds / 86_400), 'day'];
  return `${n} ${unit}${n === 1 ? '' : 's'} ago`;
}

/** Exact dollars (at most 6 decimals) to millionths. */
/** A latency as the page shows it when every generation took `ms`: the middle of its
 *  histogram bin (crates/store/src/latency_bins.rs), written as crates/model/src/format.rs writes it. */
export function binnedLatency(ms: number): string {
  const edge = (k: number) => (k === 0 ? 0 : Math.round(1000 * 2 ** ((k - 1) / 8)));
  let bin = 0;
  while (edge(bin + 1) <= ms * 1000) bin++;
  const value = bin === 0 ? 0.5 : Math.sqrt(edge(bin) * edge(bin + 1)) / 1000;
  if (value < 1000) return `${value.toFixed(0)} ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(1)} s`;
  return `${(value / 60_000).toFixed(1)} min`;
}

export function micros(dollarsText: string): number {
  const [whole, fraction = ''] = dollarsText.split('.');
  return Number(whole) * 1_000_000 + Number(fraction.padEnd(6, '0'));
}
