import type { Queryable } from '../pool';
import { softDelete } from './soft-delete';

export type DeploymentStatus = 'pending' | 'waiting' | 'deploying' | 'ready' | 'deployed' | 'failed';

export interface EndpointSpec {
  host: string;
  port: number;
  servername?: string;
}

/** A deployment as lists show it: which certificate goes to which target. */
export interface DeploymentLabels {
  certificateId: string;
  commonName: string;
  targetId: string;
  targetName: string;
  vendor: string;
}

export interface DeploymentRecord extends DeploymentLabels {
  id: string;
  binding: Record<string, unknown>;
  verifyEndpoints: EndpointSpec[];
  status: DeploymentStatus;
  lastError: string | null;
  currentVersionId: string | null;
  currentObjects: Record<string, string> | null;
  previousVersionId: string | null;
  previousObjects: Record<string, string> | null;
  updatedAt: Date;
  /** While status is 'waiting': when the target's maintenance window opens, and the zone it is written in. */
  waitingUntil: Date | null;
  waitingTimeZone: string | null;
}

/** Every column under its field's name, so a row is the record as it stands (the window only while waiting). */
export const DEPLOYMENT_SELECT = `
  SELECT d.id, d.certificate_id AS "certificateId", c.common_name AS "commonName", d.target_id AS "targetId",
         t.name AS "targetName", t.vendor, d.binding, d.verify_endpoints AS "verifyEndpoints", d.status,
         d.last_error AS "lastError", d.current_version_id AS "currentVersionId", d.current_objects AS "currentObjects",
         d.previous_version_id AS "previousVersionId", d.previous_objects AS "previousObjects", d.updated_at AS "updatedAt",
         CASE WHEN d.status = 'waiting' THEN d.waiting_until END AS "waitingUntil",
         CASE WHEN d.status = 'waiting' THEN d.waiting_time_zone END AS "waitingTimeZone"
    FROM deployments d JOIN certificates c ON c.id = d.certificate_id JOIN targets t ON t.id = d.target_id`;
const isId = (id: string): boolean => /^\d{1,18}$/.test(id);

export async function getDeployment(db: Queryable, id: string): Promise<DeploymentRecord | undefined> {
  if (!isId(id)) return undefined;
  const rows = await db.query<DeploymentRecord>(`${DEPLOYMENT_SELECT} WHERE d.id = $1 AND d.deleted_at IS NULL`, [id]);
  return rows[0];
}

/**
 * What a deploy's authority is checked against, in one statement: the certificate of a live deployment
 * and the certificate of the version it is asked to deploy (null: no such version). Undefined when the
 * deployment does not exist or was deleted.
 */
export async function certificatesOfDeploy(
  db: Queryable,
  deploymentId: string,
  versionId: string,
): Promise<{ deploymentCertificateId: string; versionCertificateId: string | null } | undefined> {
  if (!isId(deploymentId)) return undefined;
  const [row] = await db.query<{ deploymentCertificateId: string; versionCertificateId: string | null }>(
    `SELECT d.certificate_id::text AS "deploymentCertificateId",
            (SELECT v.certificate_id::text FROM certificate_versions v WHERE v.id = $2::bigint) AS "versionCertificateId"
       FROM deployments d WHERE d.id = $1 AND d.deleted_at IS NULL`,
    // A version id that is no id matches no version (null), as a forged one must.
    [deploymentId, isId(versionId) ? versionId : null],
  );
  return row;
}

export async function listDeploymentsOfCertificate(db: Queryable, certificateId: string): Promise<DeploymentRecord[]> {
  return await db.query<DeploymentRecord>(
    `${DEPLOYMENT_SELECT} WHERE d.certificate_id = $1 AND d.deleted_at IS NULL AND t.deleted_at IS NULL ORDER BY t.name`,
    [certificateId],
  );
}

export async function listDeploymentsOfTarget(db: Queryable, targetId: string): Promise<DeploymentRecord[]> {
  return await db.query<DeploymentRecord>(
    `${DEPLOYMENT_SELECT} WHERE d.target_id = $1 AND d.deleted_at IS NULL AND c.deleted_at IS NULL ORDER BY c.common_name`,
    [targetId],
  );
}

export async function insertDeployment(
  db: Queryable,
  d: { certificateId: string; targetId: string; binding: Record<string, unknown>; verifyEndpoints: EndpointSpec[] },
): Promise<string> {
  const rows = await db.query<{ id: string }>(
    'INSERT INTO deployments (certificate_id, target_id, binding, verify_endpoints) VALUES ($1, $2, $3, $4) RETURNING id',
    [d.certificateId, d.targetId, JSON.stringify(d.binding), JSON.stringify(d.verifyEndpoints)],
  );
  return (rows[0] as { id: string }).id;
}

/** Unlinks a certificate from a target; the history stays. */
export const deleteDeployment = (db: Queryable, id: string): Promise<void> => softDelete(db, 'deployments', id);

/** Live deployments that still point at a target (a target in use cannot be deleted). */
export async function countLiveDeploymentsOfTarget(db: Queryable, targetId: string): Promise<number> {
  const rows = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM deployments d JOIN certificates c ON c.id = d.certificate_id
      WHERE d.target_id = $1 AND d.deleted_at IS NULL AND c.deleted_at IS NULL`,
    [targetId],
  );
  return Number(rows[0]?.n ?? 0);
}

export async function setDeploymentStatus(
  db: Queryable,
  id: string,
  status: DeploymentStatus,
  lastError: string | null,
): Promise<void> {
  await db.query('UPDATE deployments SET status = $2, last_error = $3, updated_at = now() WHERE id = $1', [
    id,
    status,
    lastError,
  ]);
}

/** The deploy waits for the target's maintenance window that opens at `until` (windows written in `timeZone`). */
export async function setDeploymentWaiting(db: Queryable, id: string, until: Date, timeZone: string): Promise<void> {
  await db.query(
    "UPDATE deployments SET status = 'waiting', last_error = NULL, waiting_until = $2, waiting_time_zone = $3, updated_at = now() WHERE id = $1",
    [id, until, timeZone],
  );
}

/** A verified deploy: the new version becomes current, the one it replaced is kept for rollback. */
export async function recordDeployed(
  db: Queryable,
  id: string,
  versionId: string,
  objects: Record<string, string>,
): Promise<void> {
  await db.query(
    `UPDATE deployments
        SET previous_version_id = CASE WHEN current_version_id IS DISTINCT FROM $2 THEN current_version_id ELSE previous_version_id END,
            previous_objects    = CASE WHEN current_version_id IS DISTINCT FROM $2 THEN current_objects ELSE previous_objects END,
            current_version_id = $2, current_objects = $3, status = 'deployed', last_error = NULL, updated_at = now()
      WHERE id = $1`,
    [id, versionId, JSON.stringify(objects)],
  );
}
