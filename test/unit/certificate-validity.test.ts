/**
 * certificates.current_not_before/after and renew_at are kept by a database trigger; renew_at must
 * agree with the workflow's own renewal window (workflows/lib/renewal-window.ts) for every rule.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Queryable } from '../../activities/db/pool';
import { policyFromRow } from '../../activities/domain/renewal-policy';
import { renewAtFor } from '../../workflows/lib/renewal-window';
import { createTestDatabase, type TestDatabase } from '../support/db';

let t: TestDatabase;
before(async () => {
  t = await createTestDatabase();
});
after(async () => {
  await t?.drop();
});

async function certificateWithVersion(
  db: Queryable,
  name: string,
  notBefore: Date,
  notAfter: Date,
): Promise<{ id: string; versionId: string }> {
  const [cert] = await db.query<{ id: string }>(
    `INSERT INTO certificates (common_name, customer_id, dns_provider_id, acme_directory_id, key_type)
     VALUES ($1, (SELECT min(id) FROM customers), (SELECT min(id) FROM dns_providers), (SELECT min(id) FROM acme_directories), 'ecdsa-p256') RETURNING id`,
    [name],
  );
  const [order] = await db.query<{ id: string }>(
    "INSERT INTO acme_orders (certificate_id, workflow_id, run_id, order_url, status, key_encrypted) VALUES ($1, 'w', $2, 'u', 'valid', 'k') RETURNING id",
    [cert?.id, `run-${name}`],
  );
  const [version] = await db.query<{ id: string }>(
    `INSERT INTO certificate_versions (certificate_id, order_id, serial_hex, fingerprint_sha256, not_before, not_after, key_type, cert_pem, chain_pem, key_encrypted)
     VALUES ($1, $2, '01', 'ff', $3, $4, 'ecdsa-p256', 'c', '', 'k') RETURNING id`,
    [cert?.id, order?.id, notBefore, notAfter],
  );
  return { id: cert?.id ?? '', versionId: version?.id ?? '' };
}

it('follows the current version and agrees with the renewal window for every rule', () =>
  t.db.withTransaction(async (db) => {
    await db.query(
      `INSERT INTO dns_providers (name, kind, secrets_encrypted) VALUES ('p', 'cloudflare', '{"token": "x"}')`,
    );
    // 46 days across the end of daylight saving time in Berlin, a short-lived certificate.
    await db.query("SET LOCAL TIME ZONE 'Europe/Berlin'");
    const notBefore = new Date('2026-10-01T00:00:00Z');
    const notAfter = new Date('2026-11-16T00:00:00Z');
    const { id, versionId } = await certificateWithVersion(db, 'v.example.test', notBefore, notAfter);
    const row = async () =>
      (
        await db.query<{ current_not_before: Date | null; current_not_after: Date | null; renew_at: Date | null }>(
          'SELECT current_not_before, current_not_after, renew_at FROM certificates WHERE id = $1',
          [id],
        )
      )[0];
    assert.deepEqual(
      await row(),
      { current_not_before: null, current_not_after: null, renew_at: null },
      'nothing issued yet',
    );

    await db.query('UPDATE certificates SET current_version_id = $2 WHERE id = $1', [id, versionId]);
    for (const [mode, value] of [
      ['fraction', null],
      ['days', 20],
      ['days', 60],
      ['percent', 25],
      ['percent', 95],
    ] as const) {
      await db.query('UPDATE certificates SET renewal_mode = $2, renewal_value = $3 WHERE id = $1', [id, mode, value]);
      const expected = renewAtFor(
        { notBefore: notBefore.toISOString(), notAfter: notAfter.toISOString() },
        policyFromRow(mode, value),
      );
      const got = await row();
      assert.equal(got?.current_not_after?.toISOString(), notAfter.toISOString());
      assert.equal(got?.renew_at?.getTime(), expected.getTime(), `${mode} ${value}`);
    }

    // A new version moves the validity; clearing the version clears it.
    const later = await certificateWithVersion(
      db,
      'w.example.test',
      new Date('2026-12-10T00:00:00Z'),
      new Date('2027-01-25T00:00:00Z'),
    );
    await db.query('UPDATE certificate_versions SET certificate_id = $1 WHERE id = $2', [id, later.versionId]);
    await db.query('UPDATE certificates SET current_version_id = $2, status = $3 WHERE id = $1', [
      id,
      later.versionId,
      'valid',
    ]);
    assert.equal((await row())?.current_not_after?.toISOString(), '2027-01-25T00:00:00.000Z');
    await db.query('UPDATE certificates SET current_version_id = NULL WHERE id = $1', [id]);
    assert.deepEqual(await row(), { current_not_before: null, current_not_after: null, renew_at: null });
  }));
