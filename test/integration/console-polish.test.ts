/**
 * Issue 11, item 12 on the real console (PostgreSQL + Temporal dev server, no worker): the API's
 * PATCH refuses what it cannot change, the OpenAPI link opens in a browser, and the console's
 * pages read well (audit field lists, IDN names, confirmations, POST-redirect-GET).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiCreate, dnsProviderIdNamed, pinnedApiTarget } from '../support/api-fixtures';
import { ROLE_PASSWORD, startConsoleApp, type ConsoleApp } from '../support/console-app';

type Json = Record<string, unknown>;
const FINGERPRINT = 'ab'.repeat(32);

let c: ConsoleApp;
let tech: string;
let customerId: string;

before(async () => {
  c = await startConsoleApp();
  tech = await c.apiToken('technician', 'tech-polish');
  const customer = await c.api(tech, 'POST', '/api/v1/customers', { name: 'Polish GmbH' });
  assert.equal(customer.status, 201, customer.text);
  customerId = String((customer.json as Json)['id']);
});
after(async () => {
  await c?.stop();
});

describe('API PATCH', () => {
  it('refuses members it cannot change with a 400 naming them, and changes nothing', async () => {
    const providerId = await apiCreate(c, tech, '/api/v1/dns-providers', {
      name: 'Polish CF',
      kind: 'cloudflare',
      token: 'cf-polish-token',
      zoneName: 'polish.test',
    });
    const targetId = await apiCreate(c, tech, '/api/v1/targets', {
      ...pinnedApiTarget('fortigate', 'Polish FW', customerId, 'fw.polish.test', FINGERPRINT),
      credentials: { token: 'fortigate-polish' },
    });
    const cert = await c.api(tech, 'POST', '/api/v1/certificates', {
      commonName: 'www.polish.test',
      customerId,
      dnsProviderId: providerId,
    });
    assert.equal(cert.status, 201, cert.text);
    const certId = String((cert.json as Json)['id']);
    const admin = await c.apiToken('admin', 'admin-polish');
    const user = await c.addUser('readonly', 'ro-polish');

    const cases: [token: string, path: string, body: Json, refused: string[]][] = [
      [
        tech,
        `/api/v1/customers/${customerId}`,
        { name: 'Renamed GmbH', createdAt: '2020-01-01T00:00:00Z' },
        ['createdAt'],
      ],
      [tech, `/api/v1/dns-providers/${providerId}`, { name: 'Renamed CF', zoneNmae: 'typo.test' }, ['zoneNmae']],
      [tech, `/api/v1/targets/${targetId}`, { host: 'fw2.polish.test', options: { vdomm: 'root' } }, ['options.vdomm']],
      [tech, `/api/v1/certificates/${certId}`, { enabled: false, commonName: 'other.polish.test' }, ['commonName']],
      [admin, `/api/v1/users/${user.id}`, { role: 'technician', username: 'renamed' }, ['username']],
    ];
    for (const [token, path, body, refused] of cases) {
      const before = await c.api(token, 'GET', path);
      const answer = await c.api(token, 'PATCH', path, body);
      assert.equal(answer.status, 400, `${path}: ${answer.text}`);
      assert.deepEqual(Object.keys((answer.json as Json)['fields'] as Json), refused, path);
      assert.match(String((answer.json as Json)['error']), new RegExp(refused[0]?.replace('.', '\\.') ?? '?'));
      assert.deepEqual((await c.api(token, 'GET', path)).json, before.json, `${path}: nothing changed`);
    }
    // What can change still does.
    const renamed = await c.api(tech, 'PATCH', `/api/v1/customers/${customerId}`, { notes: 'kept' });
    assert.equal(renamed.status, 200, renamed.text);
  });
});

describe('OpenAPI document', () => {
  it('opens as text in a browser, stays YAML for tools, and downloads on request', async () => {
    const browser = await fetch(new URL('/api/v1/openapi.yaml', c.url), {
      headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
    });
    assert.equal(browser.status, 200);
    assert.equal(browser.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(browser.headers.get('content-disposition'), null);
    assert.match(await browser.text(), /^openapi: 3\.1/m);
    const tool = await fetch(new URL('/api/v1/openapi.yaml', c.url), { headers: { accept: '*/*' } });
    assert.match(tool.headers.get('content-type') ?? '', /^application\/yaml/);
    const download = await fetch(new URL('/api/v1/openapi.yaml?download=1', c.url), {
      headers: { accept: 'text/html' },
    });
    assert.match(
      download.headers.get('content-disposition') ?? '',
      /^attachment; filename="?certfleet-openapi\.yaml"?$/,
    );
  });
});

describe('audit log page', () => {
  it('shows what changed as a field list, not JSON', async () => {
    const created = await c.api(tech, 'POST', '/api/v1/customers', { name: 'Audit Alt GmbH', notes: 'first' });
    const id = String((created.json as Json)['id']);
    assert.equal((await c.api(tech, 'PATCH', `/api/v1/customers/${id}`, { name: 'Audit Neu GmbH' })).status, 200);
    const admin = await c.signedIn('admin');
    const page = await admin.get(`/audit?entityType=customer&entityId=${id}`);
    assert.equal(page.status, 200);
    assert.match(page.text, /<li>name: Audit Alt GmbH → Audit Neu GmbH<\/li>/);
    assert.match(page.text, /<li>notes: first<\/li>/, 'the creation lists its fields');
    assert.doesNotMatch(page.text, /\{&quot;|&quot;name&quot;/, 'no raw JSON');
  });
});

describe('IDN names', () => {
  it('show in Unicode with the punycode beside them on lists, the certificate and customer pages and the compliance report', async () => {
    const id = await apiCreate(c, tech, '/api/v1/certificates', {
      commonName: 'Bücher.Polish.Test',
      customerId,
      dnsProviderId: await dnsProviderIdNamed(c, 'Renamed CF', 'Polish CF'),
    });
    assert.equal(
      ((await c.api(tech, 'GET', `/api/v1/certificates/${id}`)).json as Json)['commonName'],
      'xn--bcher-kva.polish.test',
      'stored as punycode',
    );
    const shown = 'bücher.polish.test (xn--bcher-kva.polish.test)';
    const viewer = await c.signedIn('readonly');
    for (const path of ['/certificates', `/certificates/${id}`, `/customers/${customerId}`, '/reports/compliance']) {
      const page = await viewer.get(path);
      assert.equal(page.status, 200, path);
      assert.ok(page.text.includes(shown), `${path} shows ${shown}`);
    }
  });
});

describe('Retry', () => {
  it('appears only on a deployment that failed', async () => {
    const [target] = await c.db.db.query<{ id: string }>("SELECT id FROM targets WHERE name = 'Polish FW'");
    const [cert] = await c.db.db.query<{ id: string }>(
      "SELECT id FROM certificates WHERE common_name = 'www.polish.test'",
    );
    assert.ok(target && cert);
    const linked = await c.api(tech, 'POST', `/api/v1/certificates/${cert.id}/deployments`, {
      targetId: target.id,
      binding: { adminGui: true },
      verifyEndpoints: ['fw.polish.test:443'],
    });
    assert.equal(linked.status, 201, linked.text);
    const deploymentId = String((linked.json as Json)['id']);
    const technician = await c.signedIn('technician');
    const retryForm = new RegExp(`action="/deployments/${deploymentId}/retry"`);
    for (const status of ['pending', 'deployed', 'failed'] as const) {
      await c.db.db.query('UPDATE deployments SET status = $2 WHERE id = $1', [deploymentId, status]);
      for (const path of [`/certificates/${cert.id}`, `/deployments/${deploymentId}`]) {
        const page = await technician.get(path);
        assert.equal(page.status, 200, path);
        assert.equal(retryForm.test(page.text), status === 'failed', `${path} with a ${status} deployment`);
        assert.match(page.text, new RegExp(`action="/deployments/${deploymentId}/redeploy"`), 'Redeploy stays');
      }
    }
  });
});

describe('deleting a target or a DNS provider', () => {
  it('asks to type its name, as deleting a certificate does; a wrong name deletes nothing', async () => {
    const admin = await c.signedIn('admin');
    const provider = await c.api(tech, 'POST', '/api/v1/dns-providers', {
      name: 'Doomed CF',
      kind: 'cloudflare',
      token: 'cf-doomed-token',
    });
    const target = await c.api(tech, 'POST', '/api/v1/targets', {
      vendor: 'manual',
      name: 'Doomed Manual',
      customerId,
    });
    assert.equal(provider.status, 201, provider.text);
    assert.equal(target.status, 201, target.text);
    const cases = [
      {
        page: `/targets/${String((target.json as Json)['id'])}`,
        name: 'Doomed Manual',
        table: 'targets',
        list: '/targets',
      },
      {
        page: `/dns-providers/${String((provider.json as Json)['id'])}`,
        name: 'Doomed CF',
        table: 'dns_providers',
        list: '/dns-providers',
      },
    ];
    for (const { page, name, table, list } of cases) {
      const shown = await admin.get(page);
      assert.match(shown.text, new RegExp(`Type <strong>${name}</strong> to confirm`), page);
      for (const confirm of [undefined, 'wrong name']) {
        const refused = await admin.post(`${page}/delete`, confirm === undefined ? {} : { confirm });
        assert.equal(refused.status, 400, `${page} without the right name`);
        assert.match(
          refused.text,
          new RegExp(`id="e-confirm">Type the [a-zA-Z ]+ name \\(${name}\\) to confirm the deletion\\.`),
        );
        const [row] = await c.db.db.query<{ deleted_at: Date | null }>(
          `SELECT deleted_at FROM ${table} WHERE name = $1`,
          [name],
        );
        assert.equal(row?.deleted_at, null, 'nothing deleted');
      }
      const deleted = await admin.post(`${page}/delete`, { confirm: name });
      assert.equal(deleted.status, 303);
      assert.equal(deleted.location, list);
      assert.equal((await admin.get(page)).status, 404);
    }
  });
});

describe('POST-redirect-GET', () => {
  it('a form that succeeds redirects to a page whose reload submits nothing again', async () => {
    const user = await c.signedIn('technician', 'prg-user');
    await user.get('/account');
    const created = await user.post('/account/tokens', { name: 'prg token' });
    assert.equal(created.status, 303);
    assert.equal(created.location, '/account');
    const shown = await user.get('/account');
    assert.match(shown.text, /id="new-token">cft_/, 'the new token is shown on the page redirected to');
    const reloaded = await user.get('/account');
    assert.doesNotMatch(reloaded.text, /id="new-token"/, 'once');
    const [count] = await c.db.db.query<{ n: string }>("SELECT count(*) AS n FROM api_tokens WHERE name = 'prg token'");
    assert.equal(count?.n, '1');

    const changed = await user.post('/account/password', {
      currentPassword: ROLE_PASSWORD,
      newPassword: 'prg-new-password-1',
    });
    assert.equal(changed.status, 303);
    assert.match((await user.get('/account')).text, /Your password was changed/);
  });
});
