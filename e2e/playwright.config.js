// Browser tests of the built-in web board, in Debian's headless Chromium (the Playwright browser
// download is skipped). The server is started by .ci/e2e.sh, which passes its address in
// KANBAN_E2E_BASE. Screenshots go to artifacts/ (ignored by git).
const { defineConfig } = require('@playwright/test');

module.exports = defineConfig({
  testDir: './tests',
  outputDir: './artifacts/results',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: process.env.KANBAN_E2E_BASE || 'http://127.0.0.1:18000',
    headless: true,
    screenshot: 'only-on-failure',
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    },
  },
});
