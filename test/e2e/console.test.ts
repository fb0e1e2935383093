/// <reference lib="dom" />
/**
 * The console in a real browser (Debian chromium through playwright-core): sign in, add a CA and a DNS
 * provider, request a wildcard, watch the run finish live (htmx polling, no manual reload), download
 * the chain. The page must raise no CSP violation or script error. Screenshots: test-output/screenshots.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ADMIN_PASSWORD, CLOUDFLARE_TOKEN, startStack, type Stack } from '../support/stack';

const SHOTS = path.join(__dirname, '..', '..', 'test-output', 'screenshots');
let stack: Stack;
let browser: Browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack();
  await stack.startWorker();
  // playwright gives every launch a fresh, temporary profile (the --user-data-dir of testing.md).
  browser = await chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

it('requests a wildcard in the browser and watches it complete live', async () => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (msg) => {
    // 4xx documents (wrong password, invalid form) are expected; anything else is a problem.
    if (msg.type() === 'error' && !/responded with a status of 4\d\d/.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));

  await page.goto(stack.web.url);
  await page.waitForURL(/\/login/);
  await shot(page, '01-login');
  await page.fill('#username', 'admin');
  await page.fill('#password', 'wrong password');
  await page.click('button[type=submit]');
  await page.getByText('Wrong username or password.').waitFor();
  await page.fill('#password', ADMIN_PASSWORD);
  await page.click('button[type=submit]');
  await page.getByRole('heading', { name: 'Certificates' }).waitFor();

  await page.click('text=Settings');
  await page.fill('#f-name', 'Pebble');
  await page.fill('#f-url', stack.pebble.directoryUrl);
  await page.fill('#f-caBundlePem', stack.pebble.caBundlePem);
  await page.click('text=Save directory');
  await page.getByRole('cell', { name: 'Pebble', exact: true }).waitFor();

  await page.click('text=DNS providers');
  await page.fill('#f-name', 'Customer <b>"A"</b>');
  await page.fill('#f-token', CLOUDFLARE_TOKEN);
  await page.fill('#f-zoneId', 'not-hex');
  await page.click('text=Add provider');
  // Errors stand next to their fields; the hostile name comes back as text in the input, not as markup.
  await page.getByText('A Cloudflare zone id is 32 hexadecimal characters.').waitFor();
  await page.getByText('Give the provider a name of 1 to 64 letters').waitFor();
  assert.equal(await page.inputValue('#f-name'), 'Customer <b>"A"</b>');
  assert.equal(await page.locator('main b').count(), 0);
  assert.equal(await page.inputValue('#f-token'), '', 'the token is never echoed back');
  await shot(page, '02-provider-errors');
  await page.fill('#f-name', 'Kunde Müller Zürich');
  await page.fill('#f-token', CLOUDFLARE_TOKEN);
  await page.fill('#f-zoneId', '');
  await page.fill('#f-apiBaseUrl', stack.cloudflare.baseUrl);
  await page.click('text=Add provider');
  await page.getByRole('cell', { name: 'Kunde Müller Zürich' }).waitFor();

  // Hold the run at the propagation step until the page shows it running.
  stack.cloudflare.setPushToDns(false);
  await page.click('text=New certificate');
  await page.fill('#f-commonName', '*.example.test');
  await page.selectOption('#f-acmeDirectoryId', { label: `Pebble — ${stack.pebble.directoryUrl}` });
  await page.click('text=Request certificate');
  await page.waitForURL(/\/certificates\/\d+$/);
  assert.equal(await page.evaluate(() => typeof (window as unknown as { htmx?: unknown }).htmx), 'object', 'htmx loaded');
  await page.locator('.step-running', { hasText: 'Wait for DNS propagation' }).waitFor({ timeout: 30_000 });
  await shot(page, '03-certificate-running');
  const certificateId = /\/certificates\/(\d+)$/.exec(page.url())?.[1];
  const orders = await stack.db.db.query<{ txt_record_name: string; txt_values: string[] }>('SELECT txt_record_name, txt_values FROM acme_orders WHERE certificate_id = $1', [certificateId]);
  for (const order of orders) for (const value of order.txt_values) await stack.pebble.setTxt(order.txt_record_name, value);
  stack.cloudflare.setPushToDns(true);
  // No reload from the test: the progress fragment polls itself and refreshes the page when the run ends.
  await page.locator('.badge.status-valid').waitFor({ timeout: 60_000 });
  await page.locator('#progress .run-COMPLETED').waitFor();
  await shot(page, '04-certificate-issued');

  const download = await Promise.all([page.waitForEvent('download'), page.click('text=Certificate and chain (PEM)')]).then(([d]) => d);
  assert.match(download.suggestedFilename(), /^wildcard\.example\.test\.fullchain\.pem$/);

  await page.setViewportSize({ width: 375, height: 800 });
  await page.goto(stack.web.url);
  await shot(page, '05-dashboard-375px');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 1, `no horizontal page scroll at 375 px (overflow ${overflow}px)`);

  assert.deepEqual(problems, [], 'no CSP violations or script errors');
  await context.close();
});
