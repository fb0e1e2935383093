/**
 * A certificate's own fallback ACME directories (issue 15 item 6): set, changed and cleared through the
 * API and the certificate page's settings form, refused with a 400 that changes nothing when a listed
 * directory does not exist, repeats, or is the certificate's own; the run's plan reads them
 * (acme-order-slots: the certificate's list before its directory's).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { upsertAcmeDirectory } from '../../activities/db/repositories/acme-directories';
import { getCertificate } from '../../activities/db/repositories/certificates';
import { SecretPurpose } from '../../activities/crypto/secret-box';
import { startConsoleApp, type ConsoleApp } from '../support/console-app';
import { seedFleet } from '../support/seed';

describe('certificate fallback directories', () => {
  let c: ConsoleApp;
  let token: string;
  let certId: string;
  let ownDirectory: string;
  const spare: string[] = [];

  before(async () => {
    c = await startConsoleApp();
    const fleet = await seedFleet(
      c.db.db,
      { customers: 1, certificates: 1, targetsPerCustomer: 1, deploymentRuns: 0, auditEntries: 0 },
      c.box.seal('placeholder', SecretPurpose.versionKey),
    );
    ownDirectory = fleet.directoryId;
    for (const n of [1, 2]) {
      const d = await upsertAcmeDirectory(c.db.db, {
        name: `Spare CA ${n}`,
        url: `https://ca${n}.example.test/dir`,
        caBundlePem: null,
      });
      spare.push(d.id);
    }
    const [cert] = await c.db.db.query<{ id: string }>('SELECT id FROM certificates ORDER BY id LIMIT 1');
    certId = cert?.id ?? '';
    token = await c.apiToken('technician');
  });
  after(async () => {
    await c?.stop();
  });

  const stored = async (): Promise<string[] | null> =>
    (await getCertificate(c.db.db, certId))?.fallbackDirectoryIds ?? null;

  it('the API sets, shows and clears them; a bad list is a 400 that changes nothing', async () => {
    const set = await c.api(token, 'PATCH', `/api/v1/certificates/${certId}`, { fallbackDirectoryIds: spare });
    assert.equal(set.status, 200, set.text);
    assert.deepEqual(await stored(), spare);
    const shown = await c.api(token, 'GET', `/api/v1/certificates/${certId}`);
    assert.deepEqual((shown.json as { fallbackDirectoryIds: string[] }).fallbackDirectoryIds, spare);

    for (const bad of [['999999'], [spare[0], spare[0]], [ownDirectory], 'abc']) {
      const refused = await c.api(token, 'PATCH', `/api/v1/certificates/${certId}`, { fallbackDirectoryIds: bad });
      assert.equal(refused.status, 400, `${JSON.stringify(bad)}: ${refused.text}`);
      assert.match(refused.text, /fallbackDirectoryIds/);
      assert.deepEqual(await stored(), spare, `${JSON.stringify(bad)} changed nothing`);
    }

    // The other settings the API documents for PATCH are changeable too (they were refused before).
    const zone = await c.api(token, 'PATCH', `/api/v1/certificates/${certId}`, { delegationZone: 'acme.msp.test' });
    assert.equal(zone.status, 200, zone.text);
    assert.equal((await getCertificate(c.db.db, certId))?.delegationZone, 'acme.msp.test');

    const cleared = await c.api(token, 'PATCH', `/api/v1/certificates/${certId}`, { fallbackDirectoryIds: [] });
    assert.equal(cleared.status, 200, cleared.text);
    assert.equal(await stored(), null, 'empty: the directory list applies again');
  });

  it('the settings form takes them as "3, 5" and shows them again', async () => {
    const client = await c.signedIn('technician', 'fallback-form');
    const page = await client.get(`/certificates/${certId}`);
    assert.match(page.text, /name="fallbackDirectoryIds"/);
    const cert = await getCertificate(c.db.db, certId);
    assert.ok(cert);
    const saved = await client.post(`/certificates/${certId}/settings`, {
      customerId: cert.customerId,
      dnsProviderId: cert.dnsProviderId,
      keyType: cert.keyType,
      renewalMode: cert.renewalMode,
      renewalValue: cert.renewalValue === null ? '' : String(cert.renewalValue),
      enabled: 'on',
      fallbackDirectoryIds: `${spare[1]}, ${spare[0]}`,
    });
    assert.equal(saved.status, 303, saved.text.slice(0, 500));
    assert.deepEqual(await stored(), [spare[1], spare[0]]);
    const again = await client.get(`/certificates/${certId}`);
    assert.match(again.text, new RegExp(`name="fallbackDirectoryIds"[^>]*value="${spare[1]},${spare[0]}"`));
  });
});
