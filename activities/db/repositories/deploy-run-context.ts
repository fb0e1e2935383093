/**
 * Everything a deploy run's device step needs, in one statement instead of four (run, deployment,
 * target, version) plus one per deployed version: each record comes as JSON from the same SELECT its
 * own repository uses, and is brought back to the types pg would have given (ids as strings, times as Dates).
 */
import type { Queryable } from '../pool';
import { VERSION_COLUMNS, type CertificateVersion } from './certificate-versions';
import { RUN_COLUMNS, type DeploymentRunRecord } from './deployment-runs';
import { DEPLOYMENT_SELECT, type DeploymentRecord } from './deployments';
import { TARGET_SELECT, toTarget, type TargetRecord, type TargetRow } from './targets';

export interface DeployRunContext {
  run: DeploymentRunRecord;
  deployment: DeploymentRecord;
  target: TargetRecord;
  version: CertificateVersion;
  /** Fingerprints of the deployment's current and previous versions (what the device may present now). */
  deployedFingerprints: string[];
}

/** What is missing when the context cannot be loaded (the run, or what it points at, was deleted). */
export interface MissingPart {
  missing: 'run' | 'deployment' | 'target' | 'version';
  /** The id that points at nothing. */
  id: string;
}

type Json = Record<string, unknown>;

/** JSON has a bigint id as a number (ids stay far below 2^53) or, from a text column, a string. */
const idOf = (v: unknown): string => (typeof v === 'number' || typeof v === 'string' ? String(v) : '');
const idOrNull = (v: unknown): string | null => (typeof v === 'number' || typeof v === 'string' ? String(v) : null);
/** JSON has a timestamptz as its ISO text. */
const dateOf = (v: unknown): Date => new Date(typeof v === 'string' ? v : Number.NaN);
const dateOrNull = (v: unknown): Date | null => (typeof v === 'string' ? new Date(v) : null);

const runOf = (j: Json): DeploymentRunRecord =>
  ({
    ...j,
    id: idOf(j['id']),
    deploymentId: idOf(j['deploymentId']),
    versionId: idOf(j['versionId']),
    startedAt: dateOf(j['startedAt']),
    endedAt: dateOrNull(j['endedAt']),
  }) as DeploymentRunRecord;

const deploymentOf = (j: Json): DeploymentRecord =>
  ({
    ...j,
    id: idOf(j['id']),
    certificateId: idOf(j['certificateId']),
    targetId: idOf(j['targetId']),
    currentVersionId: idOrNull(j['currentVersionId']),
    previousVersionId: idOrNull(j['previousVersionId']),
    updatedAt: dateOf(j['updatedAt']),
    waitingUntil: dateOrNull(j['waitingUntil']),
  }) as DeploymentRecord;

const targetOf = (j: Json): TargetRecord =>
  toTarget({
    ...j,
    id: idOf(j['id']),
    customer_id: idOf(j['customer_id']),
    created_at: dateOf(j['created_at']),
  } as TargetRow);

const versionOf = (j: Json): CertificateVersion =>
  ({
    ...j,
    id: idOf(j['id']),
    certificateId: idOf(j['certificateId']),
    orderId: idOf(j['orderId']),
    notBefore: dateOf(j['notBefore']),
    notAfter: dateOf(j['notAfter']),
    createdAt: dateOf(j['createdAt']),
  }) as CertificateVersion;

export async function loadDeployRunContext(db: Queryable, runRowId: string): Promise<DeployRunContext | MissingPart> {
  if (!/^\d{1,18}$/.test(runRowId)) return { missing: 'run', id: runRowId };
  const [row] = await db.query<{
    run: Json | null;
    deployment: Json | null;
    target: Json | null;
    version: Json | null;
    fingerprints: string[] | null;
  }>(
    `SELECT to_jsonb(r) AS run, to_jsonb(dep) AS deployment, to_jsonb(tgt) AS target, to_jsonb(ver) AS version,
            ARRAY(SELECT cv.fingerprint_sha256 FROM certificate_versions cv
                   WHERE cv.id IN (dep."currentVersionId", dep."previousVersionId") ORDER BY cv.id DESC) AS fingerprints
       FROM (SELECT ${RUN_COLUMNS} FROM deployment_runs WHERE id = $1) r
       LEFT JOIN LATERAL (${DEPLOYMENT_SELECT} WHERE d.id = r."deploymentId" AND d.deleted_at IS NULL) dep ON true
       LEFT JOIN LATERAL (${TARGET_SELECT} WHERE t.id = dep."targetId" AND t.deleted_at IS NULL) tgt ON true
       LEFT JOIN LATERAL (SELECT ${VERSION_COLUMNS} FROM certificate_versions WHERE id = r."versionId") ver ON true`,
    [runRowId],
  );
  if (!row?.run) return { missing: 'run', id: runRowId };
  if (!row.deployment) return { missing: 'deployment', id: idOf(row.run['deploymentId']) };
  if (!row.target) return { missing: 'target', id: idOf(row.deployment['targetId']) };
  if (!row.version) return { missing: 'version', id: idOf(row.run['versionId']) };
  return {
    run: runOf(row.run),
    deployment: deploymentOf(row.deployment),
    target: targetOf(row.target),
    version: versionOf(row.version),
    deployedFingerprints: row.fingerprints ?? [],
  };
}
