import { defineConfig } from '@playwright/test';

// The tests start their own usage-monitor servers (see tests/server.ts), each on a free
// port with its own SQLite database, so there is no `webServer` here. Build the app first:
// `cargo leptos build` in the repository root.
export default defineConfig({
  testDir: 'tests',
  // The build machine has 2 cores: one browser plus one server at a time.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 5_000 },
  reporter: 'list',
  use: {
    headless: true,
    // Debian's Chromium; Playwright's own browsers are not downloaded.
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-dev-shm-usage'],
    },
    trace: 'off',
    screenshot: 'only-on-failure',
  },
});
