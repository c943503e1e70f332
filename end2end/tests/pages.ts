// Every page of the app, for the specs that visit them all (every-page.spec.ts,
// mobile.spec.ts): the admin area's, with the seeded data's dates, and the signed-out's.

import { DAY } from './events';
import { Seed } from './seed';

/** The local date (YYYY-MM-DD) of `ms` in the seed's reporting zone. */
export function localDate(data: Seed, ms: number): string {
  return new Date(ms + data.zone.offsetMinutes * 60_000).toISOString().slice(0, 10);
}

/** The admin area's pages: the dashboard over ranges and for a provider, the log filtered,
 *  a user and an unknown one, the Alerts page, and a page that is not there. */
export function adminPages(data: Seed): string[] {
  const from = localDate(data, data.clock.now - 5 * DAY);
  const to = localDate(data, data.clock.now - DAY);
  return [
    '/admin/credits',
    '/admin/credits?range=7d',
    `/admin/credits?from=${from}&to=${to}`,
    '/admin/credits?provider=Seedream',
    '/admin/generations',
    '/admin/generations?status=failed&provider=Kling',
    '/admin/generations?problem=unrefunded&range=30d',
    '/admin/users/u_plus1',
    '/admin/users/nobody',
    '/admin/alerts',
    '/admin/no-such-page',
  ];
}

/** The pages of the signed-out: a signed-in admin who opens them is sent on. */
export const SIGNED_OUT_PAGES = ['/login', '/login?next=%2Fadmin%2Fgenerations', '/setup?token=not-the-token'];
