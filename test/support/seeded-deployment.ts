import assert from 'node:assert/strict';
import { SecretPurpose } from '../../activities/crypto/secret-box';
import type { Queryable } from '../../activities/db/pool';
import { startRunOnce } from '../../activities/db/repositories/deployment-runs';
import type { ConsoleApp } from './console-app';
import { seedFleet, type FleetSize } from './seed';

/** The first deployment of a seeded fleet, with the target, certificate and version it links. */
export interface SeededDeployment {
  id: string;
  targetId: string;
  certificateId: string;
  versionId: string;
}

/** Seeds a fleet of `size` (version keys sealed placeholders) and returns its first deployment. */
export async function seedFleetDeployment(
  c: Pick<ConsoleApp, 'db' | 'box'>,
  size: FleetSize,
): Promise<SeededDeployment> {
  await seedFleet(c.db.db, size, c.box.seal('placeholder', SecretPurpose.versionKey));
  const [row] = await c.db.db.query<{ id: string; target_id: string; certificate_id: string; version_id: string }>(
    'SELECT id, target_id, certificate_id, current_version_id AS version_id FROM deployments ORDER BY id LIMIT 1',
  );
  assert.ok(row, 'the seeded fleet has a deployment');
  return { id: row.id, targetId: row.target_id, certificateId: row.certificate_id, versionId: row.version_id };
}

/**
 * Starts run number `n` of a deployment as a Retry would, under the test's own workflow id
 * (`deploy:<label>:<deploymentId>`, run id `<label>-<n>`), so each call is a new run. Returns its id.
 */
export async function startNumberedRun(
  db: Queryable,
  deployment: { deploymentId: string; versionId: string },
  label: string,
  n: number,
): Promise<string> {
  const run = await startRunOnce(db, {
    ...deployment,
    workflowId: `deploy:${label}:${deployment.deploymentId}`,
    runId: `${label}-${n}`,
    trigger: 'retry',
  });
  return run.id;
}
