import type { MaintenanceWindows } from '../../domain/maintenance-window';
import type { Queryable } from '../pool';

export type RunOutcome = 'running' | 'ready' | 'deployed' | 'rolled_back' | 'failed';

export interface DeploymentRunRecord {
  id: string;
  deploymentId: string;
  versionId: string;
  workflowId: string;
  runId: string;
  trigger: string;
  outcome: RunOutcome;
  error: string | null;
  stagedObjects: Record<string, string> | null;
  previousBinding: Record<string, string> | null;
  startedAt: Date;
  endedAt: Date | null;
}

export interface RunStepRecord {
  step: string;
  status: 'started' | 'succeeded' | 'failed';
  detail: string | null;
  at: Date;
}

/** Every column under its field's name, so a row is the record as it stands. */
export const RUN_COLUMNS = `id, deployment_id AS "deploymentId", version_id AS "versionId", workflow_id AS "workflowId",
  run_id AS "runId", trigger, outcome, error, staged_objects AS "stagedObjects",
  previous_binding AS "previousBinding", started_at AS "startedAt", ended_at AS "endedAt"`;

/** One row per workflow run: a retried "start" returns the same row. */
export async function startRunOnce(
  db: Queryable,
  r: { deploymentId: string; versionId: string; workflowId: string; runId: string; trigger: string },
): Promise<DeploymentRunRecord> {
  await db.query(
    `INSERT INTO deployment_runs (deployment_id, version_id, workflow_id, run_id, trigger) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (workflow_id, run_id) DO NOTHING`,
    [r.deploymentId, r.versionId, r.workflowId, r.runId, r.trigger],
  );
  const rows = await db.query<DeploymentRunRecord>(
    `SELECT ${RUN_COLUMNS} FROM deployment_runs WHERE workflow_id = $1 AND run_id = $2`,
    [r.workflowId, r.runId],
  );
  return rows[0] as DeploymentRunRecord;
}

/** The deployment's target, as a run's opening reports it. */
export interface OpeningTarget {
  targetId: string;
  targetName: string;
  vendor: string;
}

/** What opening a run found: its own row to deploy with, or the run that already deployed this version. */
export type RunOpening =
  | { missing: 'deployment' }
  | ({ runRowId: string } & OpeningTarget)
  | ({ alreadyDeployed: { runRowId: string; startedAt: Date; endedAt: Date | null } } & OpeningTarget);

/**
 * Opens the row of this workflow run (as startRunOnce) and marks the deployment as deploying, except
 * that a `lifecycle` start for a version the deployment already has deployed opens nothing, changes
 * nothing and returns the run that deployed it. That happens when a certificate's run is re-driven
 * (after a restore from an online backup, its Temporal history predates the deploy CertFleet
 * recorded) and starts the same deploy again. "Already deployed" means: a run of another workflow run
 * ended `deployed` with this version, the version is still the deployment's current one, the
 * deployment's status is `deployed`, and no run of the deployment started after it. Console commands
 * (Retry, Redeploy) are explicit re-deploys and always open a row. A deployment that no longer exists
 * opens nothing.
 *
 * Decided and done in one statement, and idempotent: once this workflow run has its row, a retried
 * start (an activity re-executed after a crash) returns that row whatever other runs did meanwhile; a
 * start that found the version deployed finds it again.
 */
export async function openRunOfDeployment(
  db: Queryable,
  r: { deploymentId: string; versionId: string; workflowId: string; runId: string; trigger: string },
): Promise<RunOpening> {
  const params = [r.deploymentId, r.versionId, r.workflowId, r.runId, r.trigger];
  const [row] = await db.query<
    OpeningTarget & {
      ownId: string | null;
      openedId: string | null;
      deployedId: string | null;
      deployedStartedAt: Date | null;
      deployedEndedAt: Date | null;
    }
  >(
    `WITH dep AS (
       SELECT d.id, d.target_id, t.name, t.vendor FROM deployments d JOIN targets t ON t.id = d.target_id
        WHERE d.id = $1 AND d.deleted_at IS NULL
     ), own AS (
       SELECT id FROM deployment_runs WHERE workflow_id = $3 AND run_id = $4
     ), deployed AS (
       SELECT r.id, r.started_at, r.ended_at FROM deployment_runs r JOIN deployments d ON d.id = r.deployment_id
        WHERE $5::text = 'lifecycle' AND NOT EXISTS (SELECT 1 FROM own)
          AND r.deployment_id = $1 AND r.version_id = $2 AND r.outcome = 'deployed'
          AND d.current_version_id = r.version_id AND d.status = 'deployed'
          AND NOT EXISTS (SELECT 1 FROM deployment_runs later WHERE later.deployment_id = r.deployment_id AND later.id > r.id)
        LIMIT 1
     ), opened AS (
       INSERT INTO deployment_runs (deployment_id, version_id, workflow_id, run_id, trigger)
       SELECT $1::bigint, $2::bigint, $3::text, $4::text, $5::text
        WHERE EXISTS (SELECT 1 FROM dep) AND NOT EXISTS (SELECT 1 FROM deployed)
       ON CONFLICT (workflow_id, run_id) DO NOTHING
       RETURNING id
     ), deploying AS (
       UPDATE deployments SET status = 'deploying', last_error = NULL, updated_at = now()
        WHERE id = $1 AND EXISTS (SELECT 1 FROM dep) AND NOT EXISTS (SELECT 1 FROM deployed)
     )
     SELECT dep.target_id::text AS "targetId", dep.name AS "targetName", dep.vendor,
            (SELECT id FROM own)::text AS "ownId", (SELECT id FROM opened)::text AS "openedId",
            (SELECT id FROM deployed)::text AS "deployedId", (SELECT started_at FROM deployed) AS "deployedStartedAt",
            (SELECT ended_at FROM deployed) AS "deployedEndedAt"
       FROM dep`,
    params,
  );
  if (!row) return { missing: 'deployment' };
  const target: OpeningTarget = { targetId: row.targetId, targetName: row.targetName, vendor: row.vendor };
  // started_at is NOT NULL: a run found deployed has it.
  if (row.deployedId !== null)
    return {
      alreadyDeployed: {
        runRowId: row.deployedId,
        startedAt: row.deployedStartedAt as Date,
        endedAt: row.deployedEndedAt,
      },
      ...target,
    };
  // Neither its own row nor a new one: the same run opened it at the same moment (a conflict this
  // statement's snapshot cannot see); it is there now.
  const runRowId = row.openedId ?? row.ownId ?? (await runRowIdOf(db, r.workflowId, r.runId));
  return { runRowId, ...target };
}

async function runRowIdOf(db: Queryable, workflowId: string, runId: string): Promise<string> {
  const [row] = await db.query<{ id: string }>(
    'SELECT id::text AS id FROM deployment_runs WHERE workflow_id = $1 AND run_id = $2',
    [workflowId, runId],
  );
  if (!row) throw new Error(`deployment run ${workflowId}/${runId} was not opened`);
  return row.id;
}

/** The maintenance windows of a run's target (null: none, deploy at any time), or undefined when the run, its deployment or its target is gone. */
export async function maintenanceOfRun(
  db: Queryable,
  runRowId: string,
): Promise<{ deploymentId: string; maintenance: MaintenanceWindows | null } | undefined> {
  if (!/^\d{1,18}$/.test(runRowId)) return undefined;
  const [row] = await db.query<{ deploymentId: string; maintenance: MaintenanceWindows | null }>(
    `SELECT d.id::text AS "deploymentId", t.maintenance FROM deployment_runs r
       JOIN deployments d ON d.id = r.deployment_id AND d.deleted_at IS NULL
       JOIN targets t ON t.id = d.target_id AND t.deleted_at IS NULL
      WHERE r.id = $1`,
    [runRowId],
  );
  return row;
}

export async function getRun(db: Queryable, id: string): Promise<DeploymentRunRecord | undefined> {
  const rows = await db.query<DeploymentRunRecord>(`SELECT ${RUN_COLUMNS} FROM deployment_runs WHERE id = $1`, [id]);
  return rows[0];
}

export async function listRunsOfDeployment(
  db: Queryable,
  deploymentId: string,
  limit = 20,
): Promise<DeploymentRunRecord[]> {
  return await db.query<DeploymentRunRecord>(
    `SELECT ${RUN_COLUMNS} FROM deployment_runs WHERE deployment_id = $1 ORDER BY id DESC LIMIT $2`,
    [deploymentId, limit],
  );
}

/** Every set of objects this deployment has imported (for removing superseded ones). */
export async function stagedObjectsOfDeployment(
  db: Queryable,
  deploymentId: string,
): Promise<Record<string, string>[]> {
  const rows = await db.query<{ staged_objects: Record<string, string> }>(
    'SELECT DISTINCT staged_objects FROM deployment_runs WHERE deployment_id = $1 AND staged_objects IS NOT NULL',
    [deploymentId],
  );
  return rows.map((r) => r.staged_objects);
}

export async function setRunStaged(db: Queryable, id: string, staged: Record<string, string>): Promise<void> {
  await db.query('UPDATE deployment_runs SET staged_objects = $2 WHERE id = $1', [id, JSON.stringify(staged)]);
}

export async function setRunPreviousBinding(
  db: Queryable,
  id: string,
  previous: Record<string, string>,
): Promise<void> {
  // The first activation's "previous" is the truth; a retried activate must not overwrite it with our own binding.
  await db.query('UPDATE deployment_runs SET previous_binding = COALESCE(previous_binding, $2) WHERE id = $1', [
    id,
    JSON.stringify(previous),
  ]);
}

/** The newest run of a deployment that waits for a manual download. */
export async function latestReadyRun(db: Queryable, deploymentId: string): Promise<DeploymentRunRecord | undefined> {
  const rows = await db.query<DeploymentRunRecord>(
    `SELECT ${RUN_COLUMNS} FROM deployment_runs WHERE deployment_id = $1 AND outcome = 'ready' ORDER BY id DESC LIMIT 1`,
    [deploymentId],
  );
  return rows[0];
}

export async function finishRun(
  db: Queryable,
  id: string,
  outcome: Exclude<RunOutcome, 'running'>,
  error: string | null,
): Promise<void> {
  await db.query('UPDATE deployment_runs SET outcome = $2, error = $3, ended_at = now() WHERE id = $1', [
    id,
    outcome,
    error,
  ]);
}

export async function appendRunStep(
  db: Queryable,
  runId: string,
  step: string,
  status: RunStepRecord['status'],
  detail: string | null,
): Promise<void> {
  await db.query('INSERT INTO deployment_run_steps (run_id, step, status, detail) VALUES ($1, $2, $3, $4)', [
    runId,
    step,
    status,
    detail,
  ]);
}

export async function listRunSteps(db: Queryable, runId: string): Promise<RunStepRecord[]> {
  return db.query<RunStepRecord>(
    'SELECT step, status, detail, at FROM deployment_run_steps WHERE run_id = $1 ORDER BY id',
    [runId],
  );
}
