// Hostile input at the edges a person and a shell see: provider texts full of markup stay
// text in the browser after hydration, and `usage-monitor import` reports every bad line of
// the hostile corpus (crates/server/src/tests/hostile/events.jsonl) by number with its reason.

import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect, test } from '@playwright/test';
import { MINUTE, generation } from './events';
import { collectErrors, openDashboard } from './page';
import { BINARY, REPO_ROOT, childEnv, startServer, tempDir } from './server';

const ERROR = `<img src=x onerror="window.__injected = 1"><script>window.__injected = 2</script>`;
const PROVIDER = `<b>Nano</b><svg onload="window.__injected = 3">`;

test('provider texts with markup are shown as text, and none of it runs', async ({ page }) => {
  const now = Date.now();
  const server = await startServer({
    events: [
      generation({ id: 'g_markup', user_id: 'u_1', provider: PROVIDER, status: 'failed', credits: 1, cost_usd: '0', created: now - 5 * MINUTE, error: ERROR }),
    ],
  });
  try {
    const errors = await collectErrors(page);
    await openDashboard(page, server.url);
    const failures = page.locator('[data-testid=recent-failures]');
    await expect(failures.locator('td.error-text')).toHaveText(ERROR);
    await expect(failures.locator('th[scope=row]')).toHaveText(PROVIDER);
    await expect(page.locator('table[data-testid=providers] th[scope=row]')).toHaveText(PROVIDER);
    await expect(page.getByRole('navigation', { name: 'Provider' }).getByRole('link', { name: PROVIDER })).toHaveText(PROVIDER);
    // The trends chart is the page's own SVG.
    for (const element of ['img', 'svg:not([data-testid=trend-svg])', 'b']) {
      await expect(page.locator(element), `no <${element}> from the data`).toHaveCount(0);
    }
    expect(await page.evaluate(() => (window as unknown as { __injected?: number }).__injected)).toBeUndefined();
    expect(errors).toEqual([]);
  } finally {
    await server.stop();
  }
});

interface Case {
  case: string;
  outcome: 'accepted' | 'rejected' | 'malformed';
  text?: string;
  hex?: string;
  reason?: string;
}

test('usage-monitor import reports every bad line of the hostile corpus by number', () => {
  const corpus: Case[] = readFileSync(path.join(REPO_ROOT, 'crates/server/src/tests/hostile/events.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  const lines = corpus.map((c) => (c.text !== undefined ? Buffer.from(c.text, 'utf8') : Buffer.from(c.hex!, 'hex')));
  const file = path.join(tempDir(), 'hostile.jsonl');
  writeFileSync(file, Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')])));
  const dbUrl = `sqlite://${path.join(tempDir(), 'hostile.db')}`;
  const result = spawnSync(BINARY, ['import', file], { cwd: REPO_ROOT, env: childEnv(dbUrl, {}), encoding: 'utf8', timeout: 30_000 });

  expect(result.status, 'a rejected line makes the import fail').toBe(1);
  const reported = new Map<number, string>();
  for (const match of result.stderr.matchAll(/^line (\d+): (.*)$/gm)) reported.set(Number(match[1]), match[2]);
  corpus.forEach((c, i) => {
    if (c.outcome === 'accepted') {
      expect(reported.has(i + 1), `${c.case}: stored`).toBe(false);
    } else {
      expect(reported.get(i + 1), `${c.case}: line ${i + 1} reported`).toContain(c.reason!);
    }
  });
  const accepted = corpus.filter((c) => c.outcome === 'accepted').length;
  expect(result.stderr).toContain(`${accepted} events stored, 0 unchanged, ${corpus.length - accepted} lines rejected`);
});
