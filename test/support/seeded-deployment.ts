import assert from 'node:assert/strict';
import { SecretPurpose } from '../../activities/crypto/secret-box';
import type { Queryable } from '../../activities/db/pool';
import { startRunOnce } from '../../activities/db/repositories/deployment-runs';
import type { CertificateMaterial } from '../../activities/deployers/types';
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

/** Gives a seeded version real certificate material (its key sealed as the worker seals it). */
export async function storeVersionMaterial(
  c: Pick<ConsoleApp, 'db' | 'box'>,
  versionId: string,
  version: CertificateMaterial,
): Promise<void> {
  await c.db.db.query(
    'UPDATE certificate_versions SET cert_pem = $2, chain_pem = $3, key_encrypted = $4, fingerprint_sha256 = $5, serial_hex = $6, key_type = $7, not_after = $8 WHERE id = $1',
    [
      versionId,
      version.certPem,
      version.chainPems.join(''),
      c.box.seal(version.keyPem, SecretPurpose.versionKey),
      version.fingerprintSha256,
      version.serialHex,
      version.keyType,
      version.notAfter,
    ],
  );
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
