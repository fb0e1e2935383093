/**
 * Everything a deploy run's device step needs, in one statement instead of four (run, deployment,
 * target, version) plus one per deployed version: each record comes as JSON from the same SELECT its
 * own repository uses, and is brought back to the types pg would have given (ids as strings, times as Dates).
 */
import type { Queryable } from '../pool';
import { VERSION_COLUMNS, type CertificateVersion } from './certificate-versions';
import { RUN_COLUMNS, type DeploymentRunRecord } from './deployment-runs';
import { DEPLOYMENT_SELECT, type DeploymentRecord } from './deployments';
import { TARGET_NETWORKS_KEY } from './settings';
import { TARGET_SELECT, toTarget, type TargetRecord, type TargetRow } from './targets';

export interface DeployRunContext {
  run: DeploymentRunRecord;
  deployment: DeploymentRecord;
  target: TargetRecord;
  version: CertificateVersion;
  /** Fingerprints of the deployment's current and previous versions (what the device may present now). */
  deployedFingerprints: string[];
  /** The target refused a session lately (busy_since set): a step that gets one clears it. */
  targetBusy: boolean;
  /** The admin's allowed networks for targets (Settings, `target_networks`) as the step starts. */
  allowedNetworks: string[];
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

/** Which fields of a row read back through to_jsonb hold ids and timestamps, and whether they may be null. */
interface JsonFields {
  ids?: readonly string[];
  idsOrNull?: readonly string[];
  dates?: readonly string[];
  datesOrNull?: readonly string[];
}

/** The row as its repository returns it: ids as strings, timestamps as Dates, the rest as they are. */
function revive(j: Json, fields: JsonFields): Json {
  const out: Json = { ...j };
  for (const k of fields.ids ?? []) out[k] = idOf(j[k]);
  for (const k of fields.idsOrNull ?? []) out[k] = idOrNull(j[k]);
  for (const k of fields.dates ?? []) out[k] = dateOf(j[k]);
  for (const k of fields.datesOrNull ?? []) out[k] = dateOrNull(j[k]);
  return out;
}

const runOf = (j: Json): DeploymentRunRecord =>
  revive(j, {
    ids: ['id', 'deploymentId', 'versionId'],
    dates: ['startedAt'],
    datesOrNull: ['endedAt'],
  }) as unknown as DeploymentRunRecord;

const deploymentOf = (j: Json): DeploymentRecord =>
  revive(j, {
    ids: ['id', 'certificateId', 'targetId'],
    idsOrNull: ['currentVersionId', 'previousVersionId'],
    dates: ['updatedAt'],
    datesOrNull: ['waitingUntil'],
  }) as unknown as DeploymentRecord;

const targetOf = (j: Json): TargetRecord =>
  toTarget(revive(j, { ids: ['id', 'customer_id'], dates: ['created_at'] }) as unknown as TargetRow);

const versionOf = (j: Json): CertificateVersion =>
  revive(j, {
    ids: ['id', 'certificateId', 'orderId'],
    dates: ['notBefore', 'notAfter', 'createdAt'],
  }) as unknown as CertificateVersion;

export async function loadDeployRunContext(db: Queryable, runRowId: string): Promise<DeployRunContext | MissingPart> {
  if (!/^\d{1,18}$/.test(runRowId)) return { missing: 'run', id: runRowId };
  const [row] = await db.query<{
    run: Json | null;
    deployment: Json | null;
    target: Json | null;
    version: Json | null;
    fingerprints: string[] | null;
    busy: boolean | null;
    networks: unknown;
  }>(
    `SELECT to_jsonb(r) AS run, to_jsonb(dep) AS deployment, to_jsonb(tgt) AS target, to_jsonb(ver) AS version,
            ARRAY(SELECT cv.fingerprint_sha256 FROM certificate_versions cv
                   WHERE cv.id IN (dep."currentVersionId", dep."previousVersionId") ORDER BY cv.id DESC) AS fingerprints,
            (SELECT tb.busy_since IS NOT NULL FROM targets tb WHERE tb.id = dep."targetId") AS busy,
            (SELECT s.value -> 'allowed' FROM settings s WHERE s.key = $2) AS networks
       FROM (SELECT ${RUN_COLUMNS} FROM deployment_runs WHERE id = $1) r
       LEFT JOIN LATERAL (${DEPLOYMENT_SELECT} WHERE d.id = r."deploymentId" AND d.deleted_at IS NULL) dep ON true
       LEFT JOIN LATERAL (${TARGET_SELECT} WHERE t.id = dep."targetId" AND t.deleted_at IS NULL) tgt ON true
       LEFT JOIN LATERAL (SELECT ${VERSION_COLUMNS} FROM certificate_versions WHERE id = r."versionId") ver ON true`,
    [runRowId, TARGET_NETWORKS_KEY],
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
    targetBusy: row.busy === true,
    allowedNetworks: Array.isArray(row.networks) ? row.networks.filter((n): n is string => typeof n === 'string') : [],
  };
}
