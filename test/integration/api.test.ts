/**
 * The JSON API under /api/v1 on real PostgreSQL and the Temporal dev server: per-user tokens (shown
 * once, stored hashed, revocable), the console's operations and validation as JSON, secrets never in
 * responses, and the OpenAPI document matching the live routes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { openTargetCredentials } from '../../activities/crypto/bound-secrets';
import { getTarget } from '../../activities/db/repositories/targets';
import { OPENAPI_PATH } from '../../web/api';
import { apiCreate, dnsProviderIdNamed, pinnedApiTarget } from '../support/api-fixtures';
import { ConsoleClient } from '../support/console-client';
import { startConsoleApp, type ConsoleApp } from '../support/console-app';
import { listRoutes } from '../support/routes';

type Json = Record<string, unknown>;
const FINGERPRINT = 'cd'.repeat(32);

let c: ConsoleApp;
let tech: string;

before(async () => {
  c = await startConsoleApp();
  tech = await c.apiToken('technician', 'tech-api');
});
after(async () => {
  await c?.stop();
});

describe('API tokens', () => {
  it('are created in the console, shown once, stored as a SHA-256, used, and revoked', async () => {
    const me = await c.signedIn('readonly', 'reader');
    await me.get('/account');
    const created = await me.post('/account/tokens', { name: 'monitoring' });
    assert.equal(created.status, 303, 'POST-redirect-GET: a reload does not create a second token');
    assert.equal(created.location, '/account');
    const shown = await me.get('/account');
    assert.equal(shown.headers.get('cache-control'), 'no-store');
    const token = /<code class="token" id="new-token">(cft_[A-Za-z0-9_-]+)<\/code>/.exec(shown.text)?.[1];
    assert.ok(token, 'the new token is shown');
    assert.ok(!(await me.get('/account')).text.includes(token), 'and only once');
    const [row] = await c.db.db.query<{ token_hash: string; prefix: string }>(
      "SELECT token_hash, prefix FROM api_tokens WHERE name = 'monitoring'",
    );
    assert.equal(row?.token_hash, createHash('sha256').update(token).digest('hex'));
    assert.ok(token.startsWith(row?.prefix ?? 'x'));
    const dump = JSON.stringify([
      await c.db.db.query('SELECT * FROM api_tokens'),
      await c.db.db.query('SELECT * FROM web_sessions'),
    ]);
    assert.ok(!dump.includes(token), 'the token itself is not in the database (nor in the session it waited in)');

    const whoami = await c.api(token, 'GET', '/api/v1/me');
    assert.equal(whoami.status, 200);
    assert.equal(((whoami.json as Json)['user'] as Json)['username'], 'reader');
    assert.equal(
      (await c.api(token, 'POST', '/api/v1/customers', { name: 'Nope' })).status,
      403,
      'a read-only token cannot change anything',
    );
    const [used] = await c.db.db.query<{ last_used_at: Date | null }>(
      "SELECT last_used_at FROM api_tokens WHERE name = 'monitoring'",
    );
    assert.ok(used?.last_used_at, 'last use recorded');

    const tokenId = /action="\/account\/tokens\/(\d+)\/revoke"/.exec((await me.get('/account')).text)?.[1];
    assert.equal((await me.post(`/account/tokens/${tokenId}/revoke`, {})).status, 303);
    const revoked = await c.api(token, 'GET', '/api/v1/me');
    assert.equal(revoked.status, 401);
    assert.match((revoked.json as Json)['error'] as string, /unknown or revoked/);
    const actions = (
      await c.db.db.query<{ action: string }>(
        "SELECT action FROM audit_log WHERE entity_type = 'api_token' ORDER BY id",
      )
    ).map((r) => r.action);
    assert.deepEqual(actions, ['api-token.create', 'api-token.revoke']);
  });

  it('a token is not a session: cookies do not authenticate the API, and the API needs no CSRF token', async () => {
    const admin = await c.signedIn('admin');
    const withCookie = await admin.get('/api/v1/me');
    assert.equal(withCookie.status, 401);
    assert.equal((await c.api(tech, 'POST', '/api/v1/customers', { name: 'No CSRF needed' })).status, 201);
  });
});

describe('inventory through the API', () => {
  let customerId: string;

  it('customers: create, validate with field errors, patch, delete; wrong types and bad JSON are 400s', async () => {
    const created = await c.api(tech, 'POST', '/api/v1/customers', { name: 'API Kunde', notes: 'via API' });
    assert.equal(created.status, 201);
    customerId = String((created.json as Json)['id']);
    const duplicate = await c.api(tech, 'POST', '/api/v1/customers', { name: 'api kunde' });
    assert.equal(duplicate.status, 400);
    assert.deepEqual(Object.keys((duplicate.json as Json)['fields'] as Json), ['name']);
    for (const body of [{ name: 42 }, { name: ['x'] }, { name: { $gt: '' } }, { name: 'x'.repeat(101) }]) {
      const response = await c.api(tech, 'POST', '/api/v1/customers', body);
      assert.equal(response.status, 400, JSON.stringify(body));
    }
    assert.equal((await c.api(tech, 'POST', '/api/v1/customers', '{"name": "broken"')).status, 400);
    assert.match(
      ((await c.api(tech, 'POST', '/api/v1/customers', '{"name": "broken"')).json as Json)['error'] as string,
      /not valid JSON/,
    );
    assert.equal((await c.api(tech, 'POST', '/api/v1/customers', '[1,2]')).status, 400);
    const patched = await c.api(tech, 'PATCH', `/api/v1/customers/${customerId}`, { notes: 'patched' });
    assert.equal(patched.status, 200);
    assert.deepEqual([(patched.json as Json)['name'], (patched.json as Json)['notes']], ['API Kunde', 'patched']);
    assert.equal((await c.api(tech, 'GET', '/api/v1/customers/999999999')).status, 404);
    assert.equal((await c.api(tech, 'GET', '/api/v1/no-such-thing')).status, 404);
  });

  it('DNS providers and targets: secrets are write-only and kept on patch', async () => {
    const provider = await c.api(tech, 'POST', '/api/v1/dns-providers', {
      name: 'API CF',
      kind: 'cloudflare',
      token: 'cf-api-secret-token',
      zoneName: 'example.test',
    });
    assert.equal(provider.status, 201, provider.text);
    assert.ok(!provider.text.includes('cf-api-secret-token'));
    const providerId = String((provider.json as Json)['id']);
    const patchedProvider = await c.api(tech, 'PATCH', `/api/v1/dns-providers/${providerId}`, {
      name: 'API Cloudflare',
    });
    assert.equal(patchedProvider.status, 200, patchedProvider.text);
    assert.deepEqual((patchedProvider.json as Json)['config'], { zoneName: 'example.test' });

    const target = await c.api(tech, 'POST', '/api/v1/targets', {
      vendor: 'fortigate',
      name: 'API FW',
      customerId,
      host: 'fw.api.example.test',
      port: 443,
      trust: { fingerprintSha256: FINGERPRINT },
      credentials: { token: 'fortigate-api-secret' },
      options: { vdom: 'root' },
    });
    assert.equal(target.status, 201, target.text);
    assert.ok(!target.text.includes('fortigate-api-secret'));
    const targetId = String((target.json as Json)['id']);
    const missing = await c.api(
      tech,
      'POST',
      '/api/v1/targets',
      pinnedApiTarget('fortigate', 'No creds', customerId, 'x.example.test', FINGERPRINT),
    );
    assert.equal(missing.status, 400);
    assert.ok(
      'credentials.token' in ((missing.json as Json)['fields'] as Json),
      'field errors named as in the request',
    );
    assert.equal((await c.api(tech, 'POST', '/api/v1/targets', { vendor: 'made-up' })).status, 400);
    const renamed = await c.api(tech, 'PATCH', `/api/v1/targets/${targetId}`, {
      name: 'API FW',
      options: { vdom: 'other' },
    });
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal(
      openTargetCredentials(c.box, (await getTarget(c.db.db, targetId))!).token,
      'fortigate-api-secret',
      'the same address keeps the stored secret',
    );
    const moved = await c.api(tech, 'PATCH', `/api/v1/targets/${targetId}`, { host: 'fw2.api.example.test' });
    assert.equal(moved.status, 400, 'a new address needs the secret again');
    assert.ok('credentials.token' in ((moved.json as Json)['fields'] as Json), moved.text);
    const patched = await c.api(tech, 'PATCH', `/api/v1/targets/${targetId}`, {
      host: 'fw2.api.example.test',
      credentials: { token: 'fortigate-api-secret-2' },
    });
    assert.equal(patched.status, 200, patched.text);
    assert.equal((patched.json as Json)['host'], 'fw2.api.example.test');
    assert.equal(openTargetCredentials(c.box, (await getTarget(c.db.db, targetId))!).token, 'fortigate-api-secret-2');
    assert.equal((await c.api(tech, 'PATCH', `/api/v1/targets/${targetId}`, { vendor: 'panos' })).status, 400);
  });

  it('certificates: create with the renewal defaults, list with filters, patch, link a target, delete with confirmation', async () => {
    const admin = await c.apiToken('admin');
    const [directory] = await c.db.db.query<{ id: string }>('SELECT id FROM acme_directories ORDER BY id DESC LIMIT 1');
    const defaults = await c.api(admin, 'PUT', '/api/v1/settings/renewal-defaults', {
      acmeDirectoryId: directory?.id,
      keyType: 'rsa-3072',
      renewalMode: 'days',
      renewalValue: 21,
    });
    assert.equal(defaults.status, 200, defaults.text);
    const providerId = await dnsProviderIdNamed(c, 'API Cloudflare');
    const id = await apiCreate(c, tech, '/api/v1/certificates', {
      commonName: 'WWW.Api.Example.Test',
      customerId,
      dnsProviderId: providerId,
    });
    const detail = (await c.api(tech, 'GET', `/api/v1/certificates/${id}`)).json as Json;
    assert.deepEqual(
      [
        detail['commonName'],
        detail['keyType'],
        detail['renewalMode'],
        detail['renewalValue'],
        detail['acmeDirectoryId'],
      ],
      ['www.api.example.test', 'rsa-3072', 'days', 21, directory?.id],
    );
    const bad = await c.api(tech, 'POST', '/api/v1/certificates', {
      commonName: 'a.example.test, b.example.test',
      customerId,
      dnsProviderId: providerId,
      keyType: 'dsa',
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(Object.keys((bad.json as Json)['fields'] as Json).sort(), ['commonName', 'keyType']);

    const list = await c.api(tech, 'GET', `/api/v1/certificates?customer=${customerId}&q=api&pageSize=10`);
    assert.equal(list.status, 200);
    assert.equal((list.json as Json)['total'], 1);
    const patched = await c.api(tech, 'PATCH', `/api/v1/certificates/${id}`, {
      enabled: false,
      renewalMode: 'percent',
      renewalValue: 25,
    });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual([(patched.json as Json)['enabled'], (patched.json as Json)['renewalValue']], [false, 25]);
    assert.equal((await c.api(tech, 'PATCH', `/api/v1/certificates/${id}`, { enabled: 'maybe' })).status, 400);
    assert.equal(
      (await c.api(tech, 'POST', `/api/v1/certificates/${id}/renew`)).status,
      409,
      'the creation run is still waiting for a worker',
    );

    const [target] = await c.db.db.query<{ id: string }>("SELECT id FROM targets WHERE name = 'API FW'");
    const linked = await c.api(tech, 'POST', `/api/v1/certificates/${id}/deployments`, {
      targetId: target?.id,
      binding: { adminGui: true },
      verifyEndpoints: ['fw2.api.example.test:443'],
    });
    assert.equal(linked.status, 201, linked.text);
    const deployments = await c.api(tech, 'GET', `/api/v1/certificates/${id}/deployments`);
    assert.equal(((deployments.json as Json)['deployments'] as unknown[]).length, 1);
    assert.equal((await c.api(tech, 'GET', `/api/v1/certificates/${id}/fullchain.pem`)).status, 404, 'not issued yet');

    assert.equal((await c.api(tech, 'DELETE', `/api/v1/certificates/${id}?confirm=wrong`)).status, 400);
    assert.equal((await c.api(tech, 'DELETE', `/api/v1/certificates/${id}?confirm=www.api.example.test`)).status, 204);
    assert.equal((await c.api(tech, 'GET', `/api/v1/certificates/${id}`)).status, 404);
    const audit = await c.api(tech, 'GET', `/api/v1/audit?entityType=certificate&entityId=${id}`);
    const entries = (audit.json as Json)['entries'] as Json[];
    assert.deepEqual(entries.map((e) => e['action']).reverse(), [
      'certificate.create',
      'certificate.issue',
      'certificate.update',
      'certificate.delete',
    ]);
    assert.ok(entries.every((e) => e['actor'] === 'tech-api'));
  });
});

describe('OpenAPI document', () => {
  it('is served without a token and documents exactly the routes the API has', async () => {
    const served = await fetch(new URL('/api/v1/openapi.yaml', c.url));
    assert.equal(served.status, 200);
    const doc = parse(readFileSync(OPENAPI_PATH, 'utf8')) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    assert.match(doc.openapi, /^3\.1\./);
    const documented = Object.entries(doc.paths)
      .flatMap(([path, item]) =>
        Object.keys(item)
          .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
          .map((m) => `${m.toUpperCase()} ${path}`),
      )
      .sort();
    const live = listRoutes(c.app)
      .filter((r) => r.path.startsWith('/api/v1/'))
      .map((r) => `${r.method} ${r.path.replace(/:([a-zA-Z]+)/g, '{$1}')}`)
      .sort();
    assert.deepEqual(documented, live);
  });
});

describe('console and API share one implementation', () => {
  it('a customer created in the console is the one the API returns, and the other way round', async () => {
    const admin = await c.signedIn('admin');
    await admin.get('/customers');
    const created = await admin.post('/customers', { name: 'Console Made' });
    const id = /\/customers\/(\d+)$/.exec(created.location ?? '')?.[1];
    assert.equal(((await c.api(tech, 'GET', `/api/v1/customers/${id}`)).json as Json)['name'], 'Console Made');
    await c.api(tech, 'POST', '/api/v1/customers', { name: 'API Made' });
    assert.ok((await new ConsoleClient(c.url).get('/customers')).status === 303);
    assert.match((await admin.get('/customers')).text, /API Made/);
  });
});
