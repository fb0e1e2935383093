/**
 * CNAME delegation end to end on real peers: a real BIND 9 serves the customer's zone (where
 * `_acme-challenge` is, or is not yet, a CNAME) and the MSP's dynamic zone (written over RFC 2136 with
 * TSIG), and Pebble validates against that BIND. Through the console: a delegated wildcard is refused
 * before any ACME order while the CNAME is missing, the page shows the CNAME and its check, and once the
 * customer publishes it the wildcard is issued with the TXT record written into the delegated zone.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { splitPemChain } from '../../activities/crypto/pem';
import { newBindKey, startBind, type BindServer } from '../support/bind';
import type { ConsoleClient } from '../support/console-client';
import { addPebbleDirectory, requestCertificate, waitForRunToEnd } from '../support/console-actions';
import { eventually, startStack, type Stack } from '../support/stack';

const CUSTOMER_ZONE = 'customer.test';
const MSP_ZONE = 'acme.msp.test';
const NAME = '*.shop.customer.test';
const CNAME_LINE = '_acme-challenge.shop.customer.test. 300 IN CNAME shop.customer.test.acme.msp.test.';
const TARGET = 'shop.customer.test.acme.msp.test';
const key = newBindKey('certfleet-msp', 'hmac-sha256');

describe('CNAME delegation on real BIND with Pebble validating against it', () => {
  let bind: BindServer;
  let stack: Stack;
  let admin: ConsoleClient;
  /** The Pebble directory, the RFC 2136 provider and the delegated certificate, as the console numbered them. */
  const ids = { directory: '', provider: '', certificate: '' };

  before(async () => {
    bind = await startBind({
      keys: [key],
      zones: [{ name: CUSTOMER_ZONE }, { name: MSP_ZONE, updateKeys: [key.name] }],
      recursive: true,
    });
    stack = await startStack({
      propagationTimeoutMs: 10_000,
      pebble: { dnsServer: bind.address },
      env: { DNS_PROPAGATION_RESOLVERS: bind.address },
    });
    await stack.startWorker();
    admin = await stack.admin();
    ids.directory = await addPebbleDirectory(admin, stack);
    await admin.get('/dns-providers');
    const saved = await admin.post('/dns-providers', {
      kind: 'rfc2136',
      name: 'MSP BIND',
      server: bind.address,
      zone: MSP_ZONE,
      keyName: key.name,
      algorithm: key.algorithm,
      tsigSecret: key.secret,
    });
    assert.equal(saved.status, 303, saved.text.slice(0, 2000));
    const page = await admin.get('/certificates/new');
    ids.provider = /<option value="(\d+)"[^>]*>MSP BIND<\/option>/.exec(page.text)?.[1] ?? '';
    assert.ok(ids.provider, 'the RFC 2136 provider is listed on the certificate form');
  });
  after(async () => {
    await stack?.stop();
    await bind?.stop();
  });

  const checkFragment = async (): Promise<string> => {
    await admin.get(`/certificates/${ids.certificate}`);
    const started = await admin.post(`/certificates/${ids.certificate}/delegation/check`, {}, { 'HX-Request': 'true' });
    assert.equal(started.status, 200, started.text);
    return eventually('the delegation check to end', async () => {
      const fragment = await admin.get(`/certificates/${ids.certificate}/delegation/check`, { 'HX-Request': 'true' });
      return fragment.text.includes('hx-trigger="every 1s"') || fragment.text.includes('Not checked')
        ? undefined
        : fragment.text;
    });
  };

  it('refuses a delegated wildcard before any ACME order while the CNAME is missing, and shows the CNAME', async () => {
    ids.certificate = await requestCertificate(admin, {
      commonName: NAME,
      dnsProviderId: ids.provider,
      acmeDirectoryId: ids.directory,
      delegationZone: MSP_ZONE,
    });
    assert.match(await waitForRunToEnd(admin, ids.certificate), /run-FAILED/);
    const orders = await stack.db.db.query('SELECT id FROM acme_orders WHERE certificate_id = $1', [ids.certificate]);
    assert.equal(orders.length, 0, 'no ACME order was spent');
    const page = await admin.get(`/certificates/${ids.certificate}`);
    assert.ok(page.text.includes(CNAME_LINE), 'the page shows the exact CNAME to give the customer');
    assert.match(page.text, /Last run failed: dns: _acme-challenge\.shop\.customer\.test is not a CNAME yet/);

    const fragment = await checkFragment();
    assert.match(fragment, /missing/);
    assert.match(fragment, /is not a CNAME yet/);
  });

  it('a CNAME to the wrong place is reported with what was found', async () => {
    await bind.setRecords(CUSTOMER_ZONE, ['_acme-challenge.shop 60 IN CNAME old-acme-dns.customer.test.']);
    const fragment = await checkFragment();
    assert.match(fragment, /is a CNAME to old-acme-dns\.customer\.test, not to shop\.customer\.test\.acme\.msp\.test/);
  });

  it('once the customer publishes the CNAME, the check says so and the wildcard is issued through the delegated zone', async () => {
    await bind.setRecords(CUSTOMER_ZONE, [`_acme-challenge.shop 60 IN CNAME ${TARGET}.`]);
    const fragment = await checkFragment();
    assert.match(fragment, /in place/);
    assert.match(fragment, /is a CNAME to shop\.customer\.test\.acme\.msp\.test/);

    await admin.get(`/certificates/${ids.certificate}`);
    const renew = await admin.post(`/certificates/${ids.certificate}/renew`, {});
    assert.equal(renew.status, 303, renew.text);
    const run = await waitForRunToEnd(admin, ids.certificate);
    assert.match(run, /run-COMPLETED/, run);

    const orders = await stack.db.db.query<{ txt_record_name: string; txt_target_name: string }>(
      'SELECT txt_record_name, txt_target_name FROM acme_orders WHERE certificate_id = $1',
      [ids.certificate],
    );
    assert.deepEqual(
      orders.map((o) => [o.txt_record_name, o.txt_target_name]),
      [['_acme-challenge.shop.customer.test', TARGET]],
      'the TXT record went into the delegated zone',
    );
    const pem = await admin.getBytes(`/certificates/${ids.certificate}/download/fullchain.pem`);
    const [leafPem] = splitPemChain(pem.body.toString('utf8'));
    assert.ok(leafPem);
    assert.match(new X509Certificate(leafPem).subjectAltName ?? '', /DNS:\*\.shop\.customer\.test/);
    assert.deepEqual(await bind.txt(TARGET), [], 'the TXT record was removed from the delegated zone');
  });
});
