/// <reference lib="dom" />
/**
 * The console in a real browser (Debian chromium through playwright-core) on the real stack: sign
 * in (the first admin sets up two-factor sign-in with a generated code, then signs in with one), set up Pebble, a customer, users and a DNS provider (its token verified by a workflow), add an
 * F5 target (fake BIG-IP) and test the connection, request a wildcard and watch it live (htmx
 * polling, no reload), link the target, renew and watch the deploy, download, then the read-only
 * role's restrictions. No page may raise a CSP violation or a script error. Every page is
 * screenshotted into test-output/screenshots (docs/screenshots holds the ones README shows).
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startFakeBigip, type FakeBigip } from '../fakes/f5-bigip/server';
import { ADMIN_PASSWORD, CLOUDFLARE_TOKEN, startStack, type Stack } from '../support/stack';
import { totpCode } from '../support/totp';

const SHOTS = path.join(__dirname, '..', '..', 'test-output', 'screenshots');
let stack: Stack;
let browser: Browser;
let bigip: FakeBigip;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  [stack, bigip] = await Promise.all([
    // A new install: the first admin must set up two-factor sign-in before anything else.
    startStack({
      adminMfa: true,
      env: { SCHEDULE_HEALTH_INTERVAL_SECONDS: '2', DEPLOY_DEVICE_RETRY_INITIAL_MS: '100' },
    }),
    startFakeBigip({ profiles: ['clientssl-web'] }),
  ]);
  await stack.startWorker();
  // playwright gives every launch a fresh, temporary profile (the --user-data-dir of testing.md).
  browser = await chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
after(async () => {
  await browser?.close();
  await bigip?.close();
  await stack?.stop();
});

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** A page whose console errors and page errors are collected (4xx documents are expected). */
async function watchedPage(context: BrowserContext, problems: string[]): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/responded with a status of 4\d\d/.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return page;
}

async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto(`${stack.web.url}/login`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
}

async function noHorizontalScroll(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

it('an admin sets up, issues, deploys and downloads; a read-only user is held back', async () => {
  const problems: string[] = [];
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
  const page = await watchedPage(context, problems);

  // Sign in (a wrong password first).
  await page.goto(stack.web.url);
  await page.waitForURL(/\/login/);
  await page.fill('#username', 'admin');
  await page.fill('#password', 'wrong password');
  await page.click('button[type=submit]');
  await page.getByText('Wrong username or password.').waitFor();
  await shot(page, '01-login');
  await page.fill('#password', ADMIN_PASSWORD);
  await page.click('button[type=submit]');

  // Two-factor sign-in is required for admins on a new install: set it up with a code made from the
  // key on the page (as an authenticator app would), keep the recovery codes, then sign in with a code.
  await page.waitForURL(/\/account\/mfa$/);
  await page.getByText('Two-factor sign-in is required for admins').waitFor();
  await page.fill('#f-currentPassword', ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
  const secret = (await page.locator('#mfa-secret').textContent())?.trim() ?? '';
  assert.match(secret, /^[A-Z2-7]{16,}$/);
  assert.match(
    (await page.locator('#mfa-uri').getAttribute('href')) ?? '',
    /^otpauth:\/\/totp\/CertFleet:admin\?.*secret=/,
  );
  await shot(page, '01a-mfa-setup');
  await page.fill('#f-code', await totpCode(secret));
  await page.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
  await page.locator('#recovery-codes li').first().waitFor();
  assert.equal(await page.locator('#recovery-codes li').count(), 10);
  await page.click('text=Continue to the dashboard');
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await page.click('form.logout button');
  await page.waitForURL(/\/login/);
  await page.fill('#username', 'admin');
  await page.fill('#password', ADMIN_PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/login\/mfa/);
  // The set-up used this 30-second step's code, and a used code is refused: the next step's (accepted one step ahead).
  await page.fill('#code', await totpCode(secret, 1));
  await shot(page, '01b-mfa-code');
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await page
    .locator('#running')
    .getByText(/Nothing is running|running/)
    .first()
    .waitFor();

  // Settings: Pebble as an ACME directory, a read-only user, the email page.
  await page.click('nav >> text=Settings');
  await page.fill('#f-name', 'Pebble');
  await page.fill('#f-url', stack.pebble.directoryUrl);
  await page.fill('#f-caBundlePem', stack.pebble.caBundlePem);
  await page.click('text=Save directory');
  await page.getByRole('cell', { name: 'Pebble', exact: true }).waitFor();
  await shot(page, '02-settings-acme');
  await page.click('.tabs >> text=Users');
  await page.fill('#f-username', 'viewer');
  await page.selectOption('#f-role', 'readonly');
  await page.fill('#f-password', 'viewer-password-1');
  await page.click('text=Add user');
  await page.getByRole('link', { name: 'viewer' }).waitFor();
  await shot(page, '03-settings-users');
  await page.click('.tabs >> text=Email');
  await page.click('text=Send test email');
  await page.locator('#test-email .badge.good').waitFor({ timeout: 30_000 });
  await shot(page, '04-settings-email');

  // A customer with a name that is not plain ASCII.
  await page.click('nav >> text=Customers');
  await page.fill('#f-name', 'Kunde Müller & Söhne <Zürich>');
  await page.click('text=Add customer');
  await page.getByRole('heading', { name: 'Kunde Müller & Söhne <Zürich>' }).waitFor();
  const customerId = /\/customers\/(\d+)$/.exec(page.url())?.[1] as string;
  await shot(page, '05-customer');

  // A DNS provider: errors next to the fields, hostile input shown as text, then a verified token.
  await page.click('nav >> text=DNS providers');
  await page.fill('#f-name', 'Customer <b>"A"</b>');
  await page.fill('#f-token', CLOUDFLARE_TOKEN);
  await page.fill('#f-zoneId', 'not-hex');
  await page.click('text=Add provider');
  await page.getByText('A Cloudflare zone id is 32 hexadecimal characters.').waitFor();
  await page.getByText('Give the provider a name of 1 to 64 letters').waitFor();
  assert.equal(await page.inputValue('#f-name'), 'Customer <b>"A"</b>');
  assert.equal(await page.locator('main b').count(), 0);
  assert.equal(await page.inputValue('#f-token'), '', 'the token is never echoed back');
  await shot(page, '06-provider-errors');
  await page.fill('#f-name', 'Kunde Müller Cloudflare');
  await page.fill('#f-token', CLOUDFLARE_TOKEN);
  await page.fill('#f-zoneId', '');
  await page.fill('#f-apiBaseUrl', stack.cloudflare.baseUrl);
  await page.click('text=Add provider');
  await page.click('text=Kunde Müller Cloudflare');
  await page.click('text=Verify credentials');
  await page.locator('#dns-check .badge.good').waitFor({ timeout: 30_000 });
  await shot(page, '07-dns-provider-verified');

  // An F5 BIG-IP target of the customer. "Fetch the fingerprint" (a bad address first: the failed
  // hx-post shows its error) reads what the management port presents; pinning fills the field.
  // "Test connection" then runs the preflight workflow.
  await page.click('nav >> text=Targets');
  await page.click('text=F5 BIG-IP');
  await page.selectOption('#f-customerId', customerId);
  await page.fill('#f-name', 'LB Zürich');
  await page.fill('#f-host', `https://${bigip.host}`);
  await page.getByRole('button', { name: 'Fetch the fingerprint' }).click();
  await page.locator('#fingerprint').getByText('Enter only the host name or IP, without https:// or a port.').waitFor();
  await page.fill('#f-host', bigip.host);
  await page.fill('#f-port', String(bigip.port));
  await page.getByRole('button', { name: 'Fetch the fingerprint' }).click();
  await page.locator('#presented-fingerprint', { hasText: bigip.managementFingerprint }).waitFor({ timeout: 30_000 });
  await page.locator('#fingerprint').getByText('does not chain to the system trust store').waitFor();
  assert.equal(await page.inputValue('#f-trustFingerprint'), '');
  await page.getByRole('button', { name: 'Pin this fingerprint' }).click();
  assert.equal(await page.inputValue('#f-trustFingerprint'), bigip.managementFingerprint);
  await shot(page, '08b-target-fingerprint');
  await page.fill('#f-cred_username', bigip.username);
  await page.fill('#f-cred_password', bigip.password);
  await shot(page, '08-target-new');
  await page.click('text=Add target');
  await page.getByRole('heading', { name: 'LB Zürich' }).waitFor();
  await page.getByText(`pinned ${bigip.managementFingerprint}`).waitFor();
  await page.click('text=Test connection');
  await page.locator('#preflight .badge.good').waitFor({ timeout: 30_000 });
  await shot(page, '09-target-tested');

  // Request a wildcard; hold it at the propagation step until the page shows it running.
  stack.cloudflare.setPushToDns(false);
  await page.click('nav >> text=Certificates');
  await page.click('text=New certificate');
  await page.selectOption('#f-customerId', customerId);
  await page.fill('#f-commonName', '*.example.test');
  await page.selectOption('#f-acmeDirectoryId', { label: `Pebble — ${stack.pebble.directoryUrl}` });
  await shot(page, '10-certificate-new');
  await page.click('text=Request certificate');
  await page.waitForURL(/\/certificates\/\d+$/);
  assert.equal(
    await page.evaluate(() => typeof (window as unknown as { htmx?: unknown }).htmx),
    'object',
    'htmx loaded',
  );
  await page.locator('.step-running', { hasText: 'Wait for DNS propagation' }).waitFor({ timeout: 30_000 });
  await shot(page, '11-certificate-running');
  const certificateId = /\/certificates\/(\d+)$/.exec(page.url())?.[1] as string;
  const orders = await stack.db.db.query<{ txt_record_name: string; txt_values: string[] }>(
    'SELECT txt_record_name, txt_values FROM acme_orders WHERE certificate_id = $1',
    [certificateId],
  );
  for (const order of orders)
    for (const value of order.txt_values) await stack.pebble.setTxt(order.txt_record_name, value);
  stack.cloudflare.setPushToDns(true);
  // No reload from the test: the progress fragment polls itself and refreshes the page when the run ends.
  await page.locator('.badge.status-valid').waitFor({ timeout: 60_000 });
  await page.locator('#progress .run-COMPLETED').waitFor();
  assert.ok(
    await page.locator('#progress a', { hasText: 'open in Temporal UI' }).count(),
    'the run links to the Temporal UI',
  );

  // Link the target, renew, and watch the deploy complete.
  await page.click('text=Link a target');
  await page.selectOption('#f-target', { label: 'LB Zürich (f5-bigip)' });
  await page.click('text=Choose target');
  await page.fill('#f-bind_profiles', 'clientssl-web');
  await page.fill('#f-verifyEndpoints', bigip.endpoints.map((e) => `${e.host}:${e.port}`).join('\n'));
  await shot(page, '12-deployment-new');
  await page.click('text=Link target');
  await page.waitForURL(new RegExp(`/certificates/${certificateId}$`));
  await page.click('text=Renew now');
  await page.locator('#deployments .badge.deploy-deployed').waitFor({ timeout: 180_000 });
  await page.locator('#progress .run-COMPLETED').waitFor();
  await shot(page, '13-certificate-deployed');

  const download = await Promise.all([
    page.waitForEvent('download'),
    page.click('text=Certificate and chain (PEM)'),
  ]).then(([d]) => d);
  assert.match(download.suggestedFilename(), /^wildcard\.example\.test\.fullchain\.pem$/);

  await page.click('#deployments >> text=history');
  await page.locator('.badge.deploy-deployed').first().waitFor();
  await shot(page, '14-deployment');
  await page.click('nav >> text=Deployments');
  await page.locator('#history').waitFor();
  await shot(page, '15-deployment-history');
  await page.click('nav >> text=Certificates');
  await page.locator('#certificates').waitFor();
  await shot(page, '16-certificates');
  await page.click('nav >> text=Dashboard');
  await page
    .locator('#schedule-health')
    .getByText(/Every schedule is running|renewal schedules/)
    .first()
    .waitFor({ timeout: 30_000 });
  await shot(page, '17-dashboard');
  await page.click('nav >> text=Audit log');
  await page.locator('#audit').waitFor();
  await shot(page, '18-audit');
  await page.click('header >> text=admin (admin)');
  await page.fill('#f-name', 'monitoring');
  await page.click('text=Create token');
  await page.locator('#new-token').waitFor();
  await shot(page, '19-account-token');
  await page.goto(`${stack.web.url}/targets`);
  await shot(page, '20-targets');

  // A maintenance window two days ahead in Europe/Berlin: the renewal's deploy waits for it, and every
  // page says until when, in the target's zone. "Renew now" again while the run is open says so.
  const days = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
  const today = new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', weekday: 'short' })
    .format(new Date())
    .toLowerCase();
  const windowDay = days[(days.indexOf(today) + 2) % 7] as string;
  const waitingText = new RegExp(
    `waiting until ${windowDay[0]?.toUpperCase()}${windowDay.slice(1)} \\d{1,2} [A-Z][a-z]{2} 02:00 \\(Europe/Berlin\\)`,
  );
  await page.click('text=LB Zürich');
  await page.getByRole('link', { name: 'Edit', exact: true }).click();
  await page.fill('#f-maintenanceWindows', `${windowDay} 02:00-03:00`);
  await page.fill('#f-maintenanceTimeZone', 'Europe/Berlin');
  await page.click('text=Save target');
  await page.locator('#maintenance').waitFor();
  await page.goto(`${stack.web.url}/certificates/${certificateId}`);
  await page.getByRole('button', { name: 'Renew now' }).click();
  await page
    .locator('#progress .step-running', { hasText: 'Deploy to targets' })
    .getByText(waitingText)
    .waitFor({ timeout: 90_000 });
  await page.getByRole('button', { name: 'Renew now' }).click();
  await page.locator('#renew-result').getByText('A run for this certificate is already in progress.').waitFor();
  await shot(page, '20b-certificate-renew-refused');
  await page.reload();
  await page.locator('#deployments').getByText(waitingText).waitFor();
  await shot(page, '20c-certificate-waiting');
  await page.click('nav >> text=Deployments');
  await page.locator('#history').getByText(waitingText).first().waitFor();
  await shot(page, '20d-deployments-waiting');
  await page.click('nav >> text=Report');
  await page.locator('#compliance').getByText(waitingText).waitFor();
  await page.click('nav >> text=Dashboard');
  await page.locator('#running').getByText(waitingText).waitFor({ timeout: 30_000 });
  await page.locator('#running').getByRole('link', { name: '*.example.test → LB Zürich' }).waitFor();
  assert.doesNotMatch(
    await page.locator('#running').innerText(),
    /certificate:\d|deploy:\d/,
    'the dashboard shows names, not workflow ids',
  );
  await shot(page, '20e-dashboard-waiting');
  await page.locator('#running').getByRole('link', { name: '*.example.test → LB Zürich' }).click();
  await page.click('text=Deploy now, outside the window');
  await page.goto(`${stack.web.url}/certificates/${certificateId}`);
  await page.locator('#progress .run-COMPLETED').waitFor({ timeout: 90_000 });
  await page.locator('#deployments .badge.deploy-deployed').waitFor();

  // Narrow screens: no horizontal page scroll.
  await page.setViewportSize({ width: 375, height: 800 });
  for (const [url, name] of [
    ['/', '21-dashboard-375px'],
    [`/certificates/${certificateId}`, '22-certificate-375px'],
    ['/certificates', '23-certificates-375px'],
  ] as const) {
    await page.goto(`${stack.web.url}${url}`);
    await shot(page, name);
    const overflow = await noHorizontalScroll(page);
    assert.ok(overflow <= 1, `${url}: no horizontal page scroll at 375 px (overflow ${overflow}px)`);
  }
  await context.close();

  // The read-only user: sees the certificate, no buttons that change anything, and the server says no.
  const viewerContext = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const viewer = await watchedPage(viewerContext, problems);
  await signIn(viewer, 'viewer', 'viewer-password-1');
  await viewer.goto(`${stack.web.url}/certificates/${certificateId}`);
  await viewer.locator('.badge.status-valid').waitFor();
  for (const label of ['Renew now', 'Link a target', 'Delete certificate', 'Download PFX', 'Retry', 'Redeploy']) {
    assert.equal(
      (await viewer.getByRole('button', { name: label }).count()) +
        (await viewer.getByRole('link', { name: label }).count()),
      0,
      `no "${label}" for read-only`,
    );
  }
  assert.equal(await viewer.getByRole('link', { name: 'Private key (PEM)' }).count(), 0);
  assert.equal(await viewer.locator('nav >> text=Settings').count(), 0);
  await shot(viewer, '24-readonly-certificate');
  const forbidden = await viewer.goto(`${stack.web.url}/certificates/new`);
  assert.equal(forbidden?.status(), 403);
  await viewer.getByText('This needs the admin or technician role.').waitFor();
  await shot(viewer, '25-readonly-forbidden');
  const key = await viewer.goto(`${stack.web.url}/certificates/${certificateId}/download/key.pem`);
  assert.equal(key?.status(), 403);
  assert.equal((await viewer.goto(`${stack.web.url}/settings`))?.status(), 403);
  await viewerContext.close();

  assert.deepEqual(problems, [], 'no CSP violations or script errors');
});
