/**
 * Console hardening at the HTTP level, on the real console (PostgreSQL, Temporal): no cache keeps a
 * signed-in page or API answer; anonymous page views leave no session row (the sign-in form is
 * CSRF-protected by a signed double-submit cookie instead); the read-only role reads no entries about
 * users and settings in the audit log (page, CSV, API); the SMTP "password without TLS" override is
 * an admin's explicit choice and the page warns while it is on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pinnedApiTarget } from '../support/api-fixtures';
import { ConsoleClient } from '../support/console-client';
import { submitForm } from '../support/console-forms';
import { ROLE_PASSWORD, startConsoleApp, type ConsoleApp } from '../support/console-app';
import { seedFleetDeployment } from '../support/seeded-deployment';

let c: ConsoleApp;
before(async () => {
  c = await startConsoleApp();
});
after(async () => {
  await c?.stop();
});

const sessionRows = async (): Promise<number> =>
  (await c.db.db.query<{ n: number }>('SELECT count(*)::int AS n FROM web_sessions'))[0]?.n ?? -1;

describe('Cache-Control', () => {
  it('is no-store on every signed-in page, fragment, download and API answer; static files keep caching', async () => {
    const admin = await c.signedIn('admin');
    for (const path of [
      '/',
      '/certificates',
      '/targets',
      '/audit',
      '/audit.csv',
      '/settings',
      '/settings/email',
      '/account',
      '/no-such-page',
    ]) {
      const response = await admin.get(path);
      assert.equal(response.headers.get('cache-control'), 'no-store', `${path} (${response.status})`);
    }
    const token = await c.apiToken('readonly');
    for (const path of ['/api/v1/me', '/api/v1/certificates', '/api/v1/audit']) {
      const response = await c.api(token, 'GET', path);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get('cache-control'), 'no-store', path);
    }
    const css = await fetch(`${c.url}/static/app.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('cache-control') ?? '', /max-age=3600/);
  });
});

describe('sessions', () => {
  it('anonymous page views store no session; signing in still needs the form token, and creates one session', async () => {
    const before = await sessionRows();
    const visitor = new ConsoleClient(c.url);
    for (const path of ['/login', '/', '/certificates', '/login?next=%2Faudit', '/no-such-page'])
      await visitor.get(path);
    assert.equal(await sessionRows(), before, 'no web_sessions row for anonymous views');
    assert.equal(visitor.cookie('certfleet.sid'), undefined, 'no session cookie either');
    assert.ok(visitor.csrf, 'the sign-in form has a CSRF token');

    const user = await c.addUser('technician');
    // The token without its cookie (another browser), and a forged token with the cookie: refused.
    const cookieless = await fetch(`${c.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: visitor.csrf, username: user.username, password: ROLE_PASSWORD }).toString(),
    });
    assert.equal(cookieless.status, 403);
    const real = visitor.csrf;
    visitor.csrf = `${real.slice(0, -2)}AA`;
    assert.equal((await visitor.post('/login', { username: user.username, password: ROLE_PASSWORD })).status, 403);
    visitor.csrf = real;
    assert.equal(await sessionRows(), before, 'refused sign-ins store nothing');

    const signedIn = await visitor.post('/login', { username: user.username, password: ROLE_PASSWORD, next: '/' });
    assert.equal(signedIn.status, 303);
    assert.equal(await sessionRows(), before + 1);
    const home = await visitor.get('/');
    assert.equal(home.status, 200);
    // Signed in, forms use the session's own token: the sign-out works with it.
    assert.equal((await visitor.post('/logout', {})).status, 303);
    assert.equal(await sessionRows(), before);
  });
});

describe('audit log for the read-only role', () => {
  it('has no entries about users, API tokens or settings, in the page, the CSV and the API; admins see them', async () => {
    const admin = await c.signedIn('admin');
    await submitForm(admin, '/settings/users', '/settings/users', {
      username: 'secret-hire',
      role: 'technician',
      password: 'a-long-password-123',
    });
    await submitForm(admin, '/settings/email', '/settings/email', {
      host: 'mail.internal.example',
      port: '587',
      from: 'CertFleet <c@msp.example>',
      recipients: 'noc@msp.example',
    });
    await admin.get('/customers');
    assert.equal((await admin.post('/customers', { name: 'Visible Customer' })).status, 303);
    const stranger = new ConsoleClient(c.url);
    await stranger.get('/login');
    await stranger.post('/login', { username: 'typo-admin', password: 'nope' });

    const readonly = await c.signedIn('readonly');
    const hidden = /secret-hire|mail\.internal\.example|typo-admin|user\.create|settings\.email|login-failed/;
    const page = await readonly.get('/audit');
    assert.equal(page.status, 200);
    assert.match(page.text, /Visible Customer/, 'other entries stay visible');
    assert.doesNotMatch(page.text, hidden);
    assert.doesNotMatch(page.text, /<option value="(user|settings|api_token)"/, 'nor in the filter list');
    for (const type of ['user', 'settings', 'api_token']) {
      const filtered = await readonly.get(`/audit?entityType=${type}`);
      assert.doesNotMatch(filtered.text, hidden, `filtered by ${type}`);
    }
    const csv = await readonly.get('/audit.csv');
    assert.equal(csv.status, 200);
    assert.match(csv.text, /Visible Customer/);
    assert.doesNotMatch(csv.text, hidden);
    const api = await c.api(await c.apiToken('readonly'), 'GET', '/api/v1/audit?limit=1000');
    assert.equal(api.status, 200);
    assert.match(api.text, /Visible Customer/);
    assert.doesNotMatch(api.text, hidden);

    const adminPage = await admin.get('/audit');
    assert.match(adminPage.text, /secret-hire/);
    assert.match(adminPage.text, /settings\.email/);
    assert.match((await admin.get('/audit.csv')).text, /login-failed/);
  });
});

describe('SMTP password without TLS', () => {
  it('is off by default; an admin turns it on explicitly, and the page warns while it is on', async () => {
    const admin = await c.signedIn('admin');
    const form = {
      host: 'mail.msp.example',
      port: '587',
      username: 'alerts',
      password: 'smtp-password-1',
      from: 'CertFleet <c@msp.example>',
      recipients: 'noc@msp.example',
    };
    await admin.get('/settings/email');
    assert.equal((await admin.post('/settings/email', form)).status, 303);
    let page = await admin.get('/settings/email');
    assert.doesNotMatch(page.text, /id="smtp-plaintext-warning"/);
    assert.match(page.text, /<input type="checkbox" name="allowPasswordWithoutTls">/, 'the override, unticked');

    assert.equal(
      (await admin.post('/settings/email', { ...form, password: '', allowPasswordWithoutTls: 'on' })).status,
      303,
    );
    page = await admin.get('/settings/email');
    assert.match(
      page.text,
      /id="smtp-plaintext-warning"[^>]*>Warning: the SMTP password is sent even when the server offers no TLS/,
    );
    assert.match(page.text, /name="allowPasswordWithoutTls" checked/);
    const token = await c.apiToken('admin');
    const api = await c.api(token, 'GET', '/api/v1/settings/email');
    assert.equal((api.json as { allowPasswordWithoutTls?: unknown }).allowPasswordWithoutTls, true);
    assert.equal((api.json as { hasPassword?: unknown }).hasPassword, true, 'the stored password was kept');

    const off = await c.api(token, 'PUT', '/api/v1/settings/email', { ...form, password: '' });
    assert.equal(off.status, 200, off.text);
    assert.equal(
      (off.json as { allowPasswordWithoutTls?: unknown }).allowPasswordWithoutTls,
      false,
      'a full replacement without it turns it off',
    );
    assert.doesNotMatch((await admin.get('/settings/email')).text, /id="smtp-plaintext-warning"/);
  });
});

describe('networks targets may point to', () => {
  const FINGERPRINT = 'ab'.repeat(32);
  let customerId = '';
  before(async () => {
    const created = await c.api(await c.apiToken('admin'), 'POST', '/api/v1/customers', { name: 'Networks Customer' });
    assert.equal(created.status, 201, created.text);
    customerId = String((created.json as { id: unknown }).id);
  });
  const targetForm = (name: string, host: string) => ({
    vendor: 'f5-bigip',
    name,
    customerId,
    host,
    port: '443',
    trustMode: 'fingerprint',
    trustFingerprint: FINGERPRINT,
    cred_username: 'admin',
    cred_password: 'device-password-1',
  });
  const targetCount = async () =>
    (await c.db.db.query<{ n: number }>('SELECT count(*)::int AS n FROM targets'))[0]?.n ?? -1;

  it('refuses link-local and metadata addresses when a target is saved, in the console and the API; loopback stays allowed', async () => {
    const technician = await c.signedIn('technician');
    const before = await targetCount();
    for (const host of [
      '169.254.169.254',
      '[fe80::1]',
      'fd00:ec2::254',
      '0.0.0.0',
      '169.254.10.1',
      '::ffff:169.254.169.254',
      '2852039166',
    ]) {
      await technician.get('/targets/new?vendor=f5-bigip');
      const refused = await technician.post('/targets', targetForm(`Metadata ${host}`, host));
      assert.equal(refused.status, 400, host);
      assert.match(
        refused.text,
        /Refused: .* is a link-local, metadata-service or &quot;this network&quot; address, which targets may never use/,
        host,
      );
    }
    const token = await c.apiToken('technician');
    const api = await c.api(token, 'POST', '/api/v1/targets', {
      ...pinnedApiTarget('f5-bigip', 'API metadata', customerId, '169.254.169.254', FINGERPRINT),
      credentials: { username: 'admin', password: 'device-password-1' },
    });
    assert.equal(api.status, 400, api.text);
    assert.match(api.text, /link-local, metadata-service/);
    assert.equal(await targetCount(), before, 'nothing saved');

    await technician.get('/targets/new?vendor=f5-bigip');
    const loopback = await technician.post('/targets', targetForm('Loopback device', '127.0.0.1'));
    assert.equal(
      loopback.status,
      303,
      `loopback is allowed: ${[...loopback.text.matchAll(/class="field-error"[^>]*>([^<]*)/g)].map((m) => m[1]).join('; ')}`,
    );
  });

  it('an admin lists the allowed networks: addresses outside them are refused, bad entries change nothing', async () => {
    const admin = await c.signedIn('admin');
    await admin.get('/settings/networks');
    const bad = await admin.post('/settings/networks', { allowed: '10.20.0.0/16\n10.0.0.0/33' });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /&quot;10\.0\.0\.0\/33&quot; is not a network/);
    assert.match((await admin.get('/settings/networks')).text, /name="allowed"[^>]*><\/textarea>/, 'nothing saved');

    assert.equal(
      (await admin.post('/settings/networks', { allowed: '10.20.0.0/16, 2001:DB8:42::/48\n169.254.0.0/16' })).status,
      303,
    );
    const page = await admin.get('/settings/networks');
    assert.match(page.text, />10\.20\.0\.0\/16\n2001:db8:42::\/48\n169\.254\.0\.0\/16</);
    const technician = await c.signedIn('technician');
    await technician.get('/targets/new?vendor=f5-bigip');
    const outside = await technician.post('/targets', targetForm('Outside', '192.168.1.1'));
    assert.equal(outside.status, 400);
    assert.match(outside.text, /192\.168\.1\.1 is not in the networks targets may point to/);
    assert.equal(
      (await technician.post('/targets', targetForm('Metadata despite the list', '169.254.169.254'))).status,
      400,
      'listing link-local does not allow it',
    );
    assert.equal((await technician.post('/targets', targetForm('Inside', '10.20.3.4'))).status, 303);
    assert.equal((await technician.post('/targets', targetForm('Inside v6', '2001:db8:42::10'))).status, 303);
    assert.equal((await technician.get('/settings/networks')).status, 403, 'admins only');

    const adminToken = await c.apiToken('admin');
    const viaApi = await c.api(adminToken, 'GET', '/api/v1/settings/networks');
    assert.deepEqual(viaApi.json, { allowed: ['10.20.0.0/16', '2001:db8:42::/48', '169.254.0.0/16'] });
    const badApi = await c.api(adminToken, 'PUT', '/api/v1/settings/networks', {
      allowed: ['10.0.0.0/8', 'not-a-network'],
    });
    assert.equal(badApi.status, 400);
    assert.match(badApi.text, /not-a-network/);
    assert.equal((await c.api(await c.apiToken('technician'), 'GET', '/api/v1/settings/networks')).status, 403);

    const audit = await admin.get('/audit?action=settings.networks');
    assert.match(audit.text, /10\.20\.0\.0\/16/);
    assert.equal((await admin.post('/settings/networks', { allowed: '' })).status, 303);
    await technician.get('/targets/new?vendor=f5-bigip');
    assert.equal(
      (await technician.post('/targets', targetForm('Anywhere again', '192.168.1.1'))).status,
      303,
      'an empty list allows any address but the refused ones',
    );
  });
});

describe('device errors for non-admins', () => {
  it('show a coarse category, without the addresses behind it; admins see the whole text', async () => {
    const deployment = await seedFleetDeployment(c, {
      customers: 1,
      certificates: 2,
      targetsPerCustomer: 1,
      deploymentRuns: 2,
      auditEntries: 0,
    });
    const detail =
      'fortigate: cannot reach fw-lyon.internal.example:443 (ECONNREFUSED: connect ECONNREFUSED 10.77.3.4:443)';
    await c.db.db.query("UPDATE deployments SET status = 'failed', last_error = $1 WHERE id = $2", [
      detail,
      deployment.id,
    ]);
    await c.db.db.query("UPDATE deployment_runs SET outcome = 'failed', error = $1 WHERE deployment_id = $2", [
      detail,
      deployment.id,
    ]);
    const pages = [
      `/deployments/${deployment.id}`,
      `/targets/${deployment.targetId}`,
      `/certificates/${deployment.certificateId}`,
      '/',
    ];
    for (const role of ['technician', 'readonly'] as const) {
      const client = await c.signedIn(role);
      for (const path of pages) {
        const page = await client.get(path);
        assert.equal(page.status, 200, `${role} ${path}`);
        assert.ok(
          !page.text.includes('10.77.3.4') && !page.text.includes('ECONNREFUSED'),
          `${role} ${path} hides the detail`,
        );
        if (path !== '/')
          assert.match(
            page.text,
            /fortigate: cannot reach fw-lyon\.internal\.example:443 \(connection refused\)/,
            `${role} ${path}`,
          );
      }
    }
    // A verify endpoint at the metadata address is refused when the deployment is linked.
    const linked = await c.api(
      await c.apiToken('technician'),
      'POST',
      `/api/v1/certificates/${deployment.certificateId}/deployments`,
      {
        targetId: deployment.targetId,
        verifyEndpoints: '169.254.169.254:443',
      },
    );
    assert.equal(linked.status, 400, linked.text);
    assert.match(
      (linked.json as { fields?: Record<string, string> }).fields?.['verifyEndpoints'] ?? '',
      /169\.254\.169\.254 is a link-local, metadata-service/,
    );

    const apiPaths = [
      `/api/v1/deployments/${deployment.id}`,
      `/api/v1/certificates/${deployment.certificateId}/deployments`,
      `/api/v1/deployments?limit=500`,
    ];
    const readonlyToken = await c.apiToken('readonly');
    for (const path of apiPaths) {
      const answer = await c.api(readonlyToken, 'GET', path);
      assert.equal(answer.status, 200, path);
      assert.ok(
        !answer.text.includes('10.77.3.4') && !answer.text.includes('ECONNREFUSED'),
        `API ${path} hides the detail`,
      );
      assert.match(answer.text, /cannot reach fw-lyon\.internal\.example:443 \(connection refused\)/, path);
    }
    const admin = await c.signedIn('admin');
    for (const path of pages.slice(0, 3))
      assert.ok(
        (await admin.get(path)).text.includes('ECONNREFUSED 10.77.3.4:443'),
        `admin ${path} has the whole text`,
      );
    const adminToken = await c.apiToken('admin');
    for (const path of apiPaths)
      assert.ok(
        (await c.api(adminToken, 'GET', path)).text.includes('ECONNREFUSED 10.77.3.4:443'),
        `admin API ${path}`,
      );
  });
});
