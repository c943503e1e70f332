// On a phone-sized screen (375 px) no page scrolls sideways, nor does any box in it: every
// table's rows are cards of labelled cells, each card led by its row's name and its key
// figure (`td.key`), on screen. The headings are visible, and axe-core finds nothing wrong
// on any page.

import { expect, Page, test } from '@playwright/test';
import { hydrated, openDashboard, signIn } from './page';
import { SIGNED_OUT_PAGES, adminPages } from './pages';
import { Receiver } from './receiver';
import { seed } from './seed';
import { Server, startServer } from './server';

const WIDTH = 375;
const data = seed();
const receiver = new Receiver();
let server: Server;

test.use({ viewport: { width: WIDTH, height: 812 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });

/** Settings that give every panel something to show: revenue and margin (every tier's
 *  credit value), budgets on the cards and users over the limit (the seed spends $2.66
 *  today, $1.25 each for u_pro2 and u_free1). */
const ENV = {
  USAGE_MONITOR_REFRESH_SECONDS: '3600',
  USAGE_MONITOR_CREDIT_VALUE_USD_FREE: '0',
  USAGE_MONITOR_CREDIT_VALUE_USD_PLUS: '0.01',
  USAGE_MONITOR_CREDIT_VALUE_USD_PRO: '0.008',
  USAGE_MONITOR_BUDGET_DAILY_DOLLARS: '5',
  USAGE_MONITOR_BUDGET_MONTHLY_DOLLARS: '5000',
  USAGE_MONITOR_BUDGET_USER_DOLLARS: '1',
};

test.beforeAll(async () => {
  const webhook = await receiver.start('mobile-spec-secret');
  server = await startServer({ events: data.events, env: { ...data.env, ...ENV, USAGE_MONITOR_ALERT_WEBHOOKS: webhook } });
});

test.afterAll(async () => {
  await server?.stop();
  await receiver.stop();
});

/** The tables each page must show with rows, as seeded. */
const TABLES: Record<string, string[]> = {
  '/admin/credits': [
    'table[data-testid=trend-table]',
    'table[data-testid=providers]',
    'table[data-testid=tiers]',
    'table[data-testid=margin-by-tier]',
    'table[data-testid=margin-by-provider]',
    'table[data-testid=top-users-table]',
    '[data-testid=recent-failures] table',
    '[data-testid=error-groups] table',
  ],
  '/admin/generations': ['table[data-testid=generations]'],
  '/admin/users/u_plus1': ['table[data-testid=user-failures]'],
  '/admin/alerts': ['table[data-testid=alert-log]'],
};

test('no horizontal page scroll at 375 px, headings visible', async ({ page }) => {
  await openDashboard(page, server.url);
  await expect(page.locator('section[data-testid=recent-failures]')).toBeVisible();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Credits & Usage Monitoring');
  for (const name of [/^This Month/, /Generations per Day/, /AI Provider Usage/, /User Credits by Tier/, /Recent Failures/]) {
    const heading = page.getByRole('heading', { level: 2, name });
    await heading.scrollIntoViewIfNeeded();
    await expect(heading).toBeInViewport();
  }

  // Each card and the health banner fit the screen.
  for (const testid of ['health', 'active-users-today', 'generations-today', 'success-rate-7d', 'cost-today']) {
    const box = await page.locator(`[data-testid=${testid}]`).boundingBox();
    expect(box, testid).not.toBeNull();
    expect(box!.x, `${testid} left`).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width, `${testid} right`).toBeLessThanOrEqual(WIDTH + 0.5);
  }
  await expect(page.getByRole('progressbar', { name: 'Daily budget' })).toBeVisible();
});

for (const path of [...SIGNED_OUT_PAGES, ...adminPages(data)]) {
  test(`${path} at 375 px: tables as cards, key figures on screen, nothing scrolls sideways, axe finds nothing`, async ({ page }) => {
    if (!SIGNED_OUT_PAGES.includes(path)) await signIn(page.request, server.url);
    // axe-core goes in before the page's own scripts: a script tag added later would be
    // refused by the page's Content-Security-Policy.
    await page.addInitScript({ path: require.resolve('axe-core') });
    const response = await page.goto(server.url + path);
    expect(response?.status(), path).toBeLessThan(500);
    await hydrated(page, path);
    await showEverything(page, path);

    const pageWidth = await page.evaluate(() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth));
    expect(pageWidth, 'the page scrolls sideways').toBeLessThanOrEqual(WIDTH);
    expect(await overflowingBoxes(page), 'boxes whose content is wider than they are').toEqual([]);
    expect(await tableProblems(page), 'tables that are not cards of labelled cells').toEqual([]);
    expect(await misplacedKeys(page), 'key figures not first or not on screen').toEqual([]);
    expect(await axeViolations(page), 'axe-core violations').toEqual([]);
  });
}

/** Waits for every panel that loads after the page (the top users), opens what is folded
 *  (the trend's table), sends a test alert on the Alerts page so that its log has a row,
 *  and waits for the page's tables to have their rows. */
async function showEverything(page: Page, path: string): Promise<void> {
  if (path.startsWith('/admin/credits')) {
    await expect(page.locator('[data-testid=top-users]')).not.toContainText('Loading…');
  }
  if (path === '/admin/alerts') {
    await page.getByRole('button', { name: 'Send test alert' }).click();
    await expect(page.getByTestId('test-alert-result')).toHaveText('Test alert delivered to 1 of 1 webhooks.');
  }
  for (const summary of await page.locator('details:not([open]) > summary').all()) await summary.click();
  await expect(page.locator('details:not([open])')).toHaveCount(0);
  for (const table of TABLES[path] ?? []) {
    await expect(page.locator(`${table} tbody tr`).first(), table).toBeVisible();
  }
}

/** Boxes that hide part of their content (any overflow but `visible`) and are narrower than
 *  it, but for what is hidden on purpose (a table's head, for screen readers only) and the
 *  trends chart, which scrolls rather than shrink its text (its figures are in its table). */
function overflowingBoxes(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const hiddenOnPurpose = (element: Element) => {
      for (let e: Element | null = element; e; e = e.parentElement) if (getComputedStyle(e).clipPath !== 'none') return true;
      return false;
    };
    const problems: string[] = [];
    for (const element of document.body.querySelectorAll<HTMLElement>('*')) {
      if (!(element instanceof HTMLElement) || element.closest('.trend-scroll')) continue;
      if (getComputedStyle(element).overflowX === 'visible' || hiddenOnPurpose(element)) continue;
      // A table's own scroll box must not scroll at all.
      const slack = element.matches('.table-scroll') ? 0 : 1;
      if (element.scrollWidth > element.clientWidth + slack) {
        problems.push(`${element.outerHTML.slice(0, 80)}: ${element.scrollWidth} > ${element.clientWidth}`);
      }
    }
    return problems;
  });
}

/** Every table stacks on a phone; its cells are named by their column, fit their box, and
 *  each row of figures has one key figure. */
function tableProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    for (const table of document.querySelectorAll('table')) {
      const name = table.getAttribute('data-testid') ?? table.closest('section')?.getAttribute('data-testid');
      if (!table.classList.contains('stacking')) problems.push(`${name}: not a stacking table`);
      for (const row of table.querySelectorAll<HTMLTableRowElement>('tbody > tr, tfoot > tr')) {
        const cells = [...row.querySelectorAll<HTMLElement>(':scope > td')];
        for (const cell of cells) {
          if (!cell.hasAttribute('colspan') && !cell.hasAttribute('data-label')) problems.push(`${name} row ${row.rowIndex}: a cell without data-label`);
        }
        for (const cell of row.querySelectorAll<HTMLElement>(':scope > *')) {
          if (cell.scrollWidth > cell.clientWidth + 1) problems.push(`${name} row ${row.rowIndex}: ${cell.textContent} wider than its cell`);
        }
        const figures = row.parentElement!.tagName === 'TBODY' && cells.some((cell) => !cell.hasAttribute('colspan'));
        const keys = row.querySelectorAll(':scope > td.key').length;
        if (figures && keys !== 1) problems.push(`${name} row ${row.rowIndex}: ${keys} key figures`);
      }
    }
    return problems;
  });
}

/** Each key figure, the page scrolled to it (up or down only): drawn inside the screen,
 *  under its row's name and above the row's other cells. */
function misplacedKeys(page: Page): Promise<string[]> {
  return page.evaluate((width) => {
    const problems: string[] = [];
    for (const key of document.querySelectorAll<HTMLElement>('td.key')) {
      const row = key.closest('tr')!;
      const where = `${key.closest('table')!.getAttribute('data-testid') ?? key.closest('section')?.getAttribute('data-testid')} row ${row.rowIndex}`;
      window.scrollTo(0, window.scrollY + key.getBoundingClientRect().top - window.innerHeight / 2);
      const box = key.getBoundingClientRect();
      if (!key.checkVisibility() || box.width === 0 || box.height === 0) problems.push(`${where}: not drawn`);
      if (box.left < 0 || box.right > width + 0.5) problems.push(`${where}: from ${box.left} to ${box.right}`);
      if (box.top < 0 || box.bottom > window.innerHeight) problems.push(`${where}: not in view`);
      const name = row.querySelector(':scope > th');
      if (name && name.getBoundingClientRect().bottom > box.top + 0.5) problems.push(`${where}: not under the row's name`);
      for (const cell of row.querySelectorAll<HTMLElement>(':scope > td:not(.key)')) {
        if (cell.checkVisibility() && cell.getBoundingClientRect().top < box.bottom - 0.5) problems.push(`${where}: ${cell.dataset.label} not under it`);
      }
    }
    if (window.scrollX !== 0) problems.push(`the page scrolled sideways by ${window.scrollX}`);
    return problems;
  }, WIDTH);
}

/** What axe-core finds wrong with the page, every rule it runs by default: each rule with
 *  the elements that break it. */
function axeViolations(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: { id: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const { violations } = await axe.run();
    return violations.map((v) => `${v.id} (${v.help}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
}
