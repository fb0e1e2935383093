/**
 * The order context (activities/db/repositories/order-context.ts) on a real PostgreSQL: one statement
 * gives the same order and certificate as their own repositories, and says which one is missing.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { getOrder, insertOrderOnce } from '../../activities/db/repositories/acme-orders';
import { getCertificate } from '../../activities/db/repositories/certificates';
import { getOrderContext } from '../../activities/db/repositories/order-context';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { ONE_CERTIFICATE, seedFleet } from '../support/seed';

let test: TestDatabase;
let certificateId: string;
let directoryId: string;

before(async () => {
  test = await createTestDatabase();
  const fleet = await seedFleet(test.db, ONE_CERTIFICATE, 'v1.placeholder');
  directoryId = fleet.directoryId;
  const [row] = await test.db.query<{ id: string }>('SELECT id::text AS id FROM certificates');
  certificateId = row?.id ?? '';
});
after(async () => {
  await test?.drop();
});

it('reads the order and its certificate as their repositories do, and says which is missing', async () => {
  const stored = await insertOrderOnce(test.db, {
    certificateId,
    directoryId,
    workflowId: 'certificate:1',
    runId: 'run-order-context',
    orderUrl: 'https://ca.test/order/1',
    status: 'pending',
    keySealed: 'sealed',
    txtRecordName: '_acme-challenge.a.example',
    txtValues: ['v1', 'v2'],
    profile: null,
  });
  const context = await getOrderContext(test.db, stored.id);
  assert.deepEqual(context.order, await getOrder(test.db, stored.id));
  assert.deepEqual(context.certificate, await getCertificate(test.db, certificateId));

  await test.db.query('UPDATE certificates SET deleted_at = now() WHERE id = $1', [certificateId]);
  const deleted = await getOrderContext(test.db, stored.id);
  assert.deepEqual(deleted.order, await getOrder(test.db, stored.id));
  assert.equal(deleted.certificate, undefined);

  assert.deepEqual(await getOrderContext(test.db, '999999'), { order: undefined, certificate: undefined });
  assert.deepEqual(await getOrderContext(test.db, 'not-an-id'), { order: undefined, certificate: undefined });
});
