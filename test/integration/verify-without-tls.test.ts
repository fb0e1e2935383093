/**
 * The verify step of a binding that has no TLS endpoint at all (FortiGate IPsec phase-1 only: the
 * certificate is presented during IKE) records why it is not verified by TLS instead of failing; a
 * binding that does have TLS services but names no endpoint for them still fails, as before.
 * Real PostgreSQL; no device is contacted (verify is a handshake, and there is nothing to shake).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { createSecretBox, SecretPurpose } from '../../activities/crypto/secret-box';
import { listRunSteps } from '../../activities/db/repositories/deployment-runs';
import { createDeployActivities } from '../../activities/deploy';
import { ClassifiedError } from '../../activities/errors';
import { FailureType } from '../../temporal/contract';
import { activityDepsFrom } from '../../worker/activity-deps';
import { loadWorkerConfig } from '../../worker/config';
import { rejection } from '../support/assertions';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startNumberedRun } from '../support/seeded-deployment';
import { ONE_CERTIFICATE, seedFleet } from '../support/seed';

describe('verify of a binding without a TLS endpoint', () => {
  let database: TestDatabase;
  let deploymentId: string;
  let versionId: string;
  let activities: ReturnType<typeof createDeployActivities>;
  const box = createSecretBox(randomBytes(32));
  let runs = 0;

  const runWith = async (binding: Record<string, unknown>): Promise<string> => {
    await database.db.query(
      "UPDATE targets SET vendor = 'fortigate', options = '{}' WHERE id = (SELECT target_id FROM deployments WHERE id = $1)",
      [deploymentId],
    );
    await database.db.query("UPDATE deployments SET binding = $2, verify_endpoints = '[]' WHERE id = $1", [
      deploymentId,
      JSON.stringify(binding),
    ]);
    runs += 1;
    return startNumberedRun(database.db, { deploymentId, versionId }, 'verify', runs);
  };

  before(async () => {
    database = await createTestDatabase();
    await seedFleet(
      database.db,
      { ...ONE_CERTIFICATE, targetsPerCustomer: 1, deploymentRuns: 1, auditEntries: 1 },
      box.seal('placeholder', SecretPurpose.versionKey),
    );
    const [row] = await database.db.query<{ id: string; version_id: string }>(
      'SELECT id, current_version_id AS version_id FROM deployments ORDER BY id LIMIT 1',
    );
    assert.ok(row);
    [deploymentId, versionId] = [row.id, row.version_id];
    const config = loadWorkerConfig({ DATABASE_URL: 'postgres://127.0.0.1/unused' });
    activities = createDeployActivities(
      activityDepsFrom(config, { db: database.db, box, log: pino({ level: 'silent' }) }),
    );
  });
  after(async () => {
    await database?.drop();
  });

  it('IPsec phase-1 only: verify succeeds without a handshake and says why', async () => {
    const runRowId = await runWith({ ipsecPhase1: ['vpn-hq', 'vpn-branch'] });
    assert.deepEqual(await activities.verifyDeployment({ runRowId }), { endpoints: [] });
    const verify = (await listRunSteps(database.db, runRowId)).filter((s) => s.step === 'verify');
    assert.equal(verify.at(-1)?.status, 'succeeded');
    assert.match(
      verify.at(-1)?.detail ?? '',
      /^not verified by TLS: IPsec phase-1 vpn-hq, vpn-branch only: the certificate is presented during IKE/,
    );
  });

  it('IPsec with a VIP but no endpoint for the VIP still fails: the VIP terminates TLS and must be verified', async () => {
    const runRowId = await runWith({ ipsecPhase1: ['vpn-hq'], vips: ['web-vip'] });
    const error = await rejection(activities.verifyDeployment({ runRowId }), ClassifiedError);
    assert.equal(error.type, FailureType.validation);
    assert.match(error.message, /no endpoint to verify/);
  });
});
