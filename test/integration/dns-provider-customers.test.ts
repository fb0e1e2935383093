/**
 * DNS providers per customer (issue 16, item 6) and the descriptor-driven provider forms, on real
 * PostgreSQL through the console and the JSON API: a certificate uses only a shared provider or one
 * of its own customer, enforced on the server; a provider with several secret fields stores each
 * sealed and never returns them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openDnsSecrets } from '../../activities/crypto/bound-secrets';
import { getDnsProvider } from '../../activities/db/repositories/dns-providers';
import type { ConsoleApp } from '../support/console-app';
import type { ConsoleClient } from '../support/console-client';
import type { SeededFleet } from '../support/seed';
import { startSeededConsole } from '../support/seeded-console';

const PDNS_KEY = 'pdns-customer-key-SECRET-42';

let c: ConsoleApp;
let admin: ConsoleClient;
let token: string;
let fleet: SeededFleet;

before(async () => {
  ({ c, fleet, admin, token } = await startSeededConsole(
    { customers: 2, certificates: 4, targetsPerCustomer: 0, deploymentRuns: 0, auditEntries: 0 },
    { admin: 'dns-admin', tokenRole: 'admin', token: 'dns-api' },
  ));
});
after(async () => {
  await c?.stop();
});

const certificateOf = async (customerId: string): Promise<{ id: string; dns_provider_id: string }> => {
  const [row] = await c.db.db.query<{ id: string; dns_provider_id: string }>(
    'SELECT id, dns_provider_id FROM certificates WHERE customer_id = $1 AND deleted_at IS NULL ORDER BY id LIMIT 1',
    [customerId],
  );
  assert.ok(row, `a certificate of customer ${customerId}`);
  return row;
};

describe('DNS providers per customer', () => {
  let ownedId = '';

  it('the add form is generated from the chosen kind’s descriptor', async () => {
    const page = await admin.get('/dns-providers?kind=powerdns');
    assert.equal(page.status, 200);
    for (const field of ['apiKey', 'apiUrl', 'serverId', 'zoneName', 'customerId'])
      assert.match(page.text, new RegExp(`name="${field}"`), field);
    assert.match(page.text, /<input type="hidden" name="kind" value="powerdns">/);
    assert.match(page.text, /id="f-apiKey" name="apiKey" type="password"/);
    const cloudflare = await admin.get('/dns-providers');
    assert.match(cloudflare.text, /name="token"/);
    assert.doesNotMatch(cloudflare.text, /name="apiKey"/);
  });

  it('a provider of one customer, created in the console: its secret sealed, never shown', async () => {
    const [customerA] = fleet.customerIds;
    const created = await admin.post('/dns-providers', {
      name: 'A PowerDNS',
      kind: 'powerdns',
      customerId: customerA ?? '',
      apiKey: PDNS_KEY,
      apiUrl: 'http://127.0.0.1:8081',
      serverId: '',
      zoneName: 'a.example.test',
    });
    assert.equal(created.status, 303, created.text.slice(0, 400));
    const [row] = await c.db.db.query<{ id: string; secrets: string; customer_id: string }>(
      "SELECT id, secrets_encrypted::text AS secrets, customer_id FROM dns_providers WHERE name = 'A PowerDNS'",
    );
    assert.ok(row);
    ownedId = row.id;
    assert.equal(row.customer_id, customerA);
    assert.ok(!row.secrets.includes(PDNS_KEY), 'sealed');
    const record = await getDnsProvider(c.db.db, row.id);
    assert.deepEqual(openDnsSecrets(c.box, record!), { apiKey: PDNS_KEY });
    assert.deepEqual(record?.config, {
      apiUrl: 'http://127.0.0.1:8081',
      serverId: 'localhost',
      zoneName: 'a.example.test',
    });

    const viaApi = await c.api(token, 'GET', `/api/v1/dns-providers/${row.id}`);
    assert.deepEqual((viaApi.json as { secrets: unknown }).secrets, { apiKey: '(sealed)' });
    assert.ok(!viaApi.text.includes(PDNS_KEY));
    const detail = await admin.get(`/dns-providers/${row.id}`);
    assert.ok(!detail.text.includes(PDNS_KEY));
    assert.match(detail.text, /New API key \(optional\)/);
  });

  it("a certificate of another customer cannot use it (console and API); its own customer's can", async () => {
    const [customerA, customerB] = fleet.customerIds;
    const foreign = await certificateOf(customerB ?? '');
    const refused = await c.api(token, 'PATCH', `/api/v1/certificates/${foreign.id}`, { dnsProviderId: ownedId });
    assert.equal(refused.status, 400, refused.text);
    assert.match(refused.text, /belongs to another customer/);
    assert.equal((await certificateOf(customerB ?? '')).dns_provider_id, foreign.dns_provider_id, 'unchanged');

    const created = await c.api(token, 'POST', '/api/v1/certificates', {
      commonName: 'new.b.example.test',
      customerId: customerB,
      dnsProviderId: ownedId,
      acmeDirectoryId: fleet.directoryId,
      keyType: 'ecdsa-p256',
    });
    assert.equal(created.status, 400, created.text);
    assert.match(created.text, /belongs to another customer/);

    const own = await certificateOf(customerA ?? '');
    const accepted = await c.api(token, 'PATCH', `/api/v1/certificates/${own.id}`, { dnsProviderId: ownedId });
    assert.equal(accepted.status, 200, accepted.text);

    // Now used by customer A: it cannot become customer B's own, but it can become shared.
    const moved = await c.api(token, 'PATCH', `/api/v1/dns-providers/${ownedId}`, { customerId: customerB });
    assert.equal(moved.status, 400, moved.text);
    assert.match(moved.text, /Certificates of other customers use it/);
    const shared = await c.api(token, 'PATCH', `/api/v1/dns-providers/${ownedId}`, { customerId: '' });
    assert.equal(shared.status, 200, shared.text);
    assert.equal((shared.json as { customerId: unknown }).customerId, null);
    const nowAllowed = await c.api(token, 'PATCH', `/api/v1/certificates/${foreign.id}`, { dnsProviderId: ownedId });
    assert.equal(nowAllowed.status, 200, nowAllowed.text);
  });

  it('the API takes secrets grouped and refuses a missing required secret next to its field', async () => {
    const missing = await c.api(token, 'POST', '/api/v1/dns-providers', {
      name: 'No key',
      kind: 'powerdns',
      config: { apiUrl: 'http://127.0.0.1:8081' },
    });
    assert.equal(missing.status, 400, missing.text);
    assert.match(missing.text, /apiKey/);
    const grouped = await c.api(token, 'POST', '/api/v1/dns-providers', {
      name: 'Grouped',
      kind: 'powerdns',
      config: { apiUrl: 'http://127.0.0.1:8081' },
      secrets: { apiKey: PDNS_KEY },
    });
    assert.equal(grouped.status, 201, grouped.text);
    assert.deepEqual((grouped.json as { secrets: unknown }).secrets, { apiKey: '(sealed)' });
  });
});
