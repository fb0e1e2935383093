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

/** What opening a run found: its own row to deploy with, or the run that already deployed this version. */
export type RunStart = { run: DeploymentRunRecord } | { alreadyDeployed: DeploymentRunRecord };

/**
 * Opens the row of this workflow run (as startRunOnce), except that a `lifecycle` start for a version
 * the deployment already has deployed opens nothing and returns the run that deployed it. That happens
 * when a certificate's run is re-driven (after a restore from an online backup, its Temporal history
 * predates the deploy CertFleet recorded) and starts the same deploy again. "Already deployed" means: a
 * run of another workflow run ended `deployed` with this version, the version is still the deployment's
 * current one, the deployment's status is `deployed`, and no run of the deployment started after it.
 * Console commands (Retry, Redeploy) are explicit re-deploys and always open a row.
 *
 * Decided in one statement and idempotent: once this workflow run has its row, a retried start (an
 * activity re-executed after a crash) returns that row whatever other runs did meanwhile; a start that
 * found the version deployed finds it again.
 */
export async function startRunUnlessDeployed(
  db: Queryable,
  r: { deploymentId: string; versionId: string; workflowId: string; runId: string; trigger: string },
): Promise<RunStart> {
  const [decision] = await db.query<{ deployedBy: string | null }>(
    `WITH own AS (
       SELECT id FROM deployment_runs WHERE workflow_id = $3 AND run_id = $4
     ), deployed AS (
       SELECT r.id FROM deployment_runs r JOIN deployments d ON d.id = r.deployment_id
        WHERE $5::text = 'lifecycle' AND NOT EXISTS (SELECT 1 FROM own)
          AND r.deployment_id = $1 AND r.version_id = $2 AND r.outcome = 'deployed'
          AND d.current_version_id = r.version_id AND d.status = 'deployed'
          AND NOT EXISTS (SELECT 1 FROM deployment_runs later WHERE later.deployment_id = r.deployment_id AND later.id > r.id)
        LIMIT 1
     ), opened AS (
       INSERT INTO deployment_runs (deployment_id, version_id, workflow_id, run_id, trigger)
       SELECT $1::bigint, $2::bigint, $3::text, $4::text, $5::text WHERE NOT EXISTS (SELECT 1 FROM deployed)
       ON CONFLICT (workflow_id, run_id) DO NOTHING
     )
     SELECT (SELECT id FROM deployed) AS "deployedBy"`,
    [r.deploymentId, r.versionId, r.workflowId, r.runId, r.trigger],
  );
  if (decision?.deployedBy) {
    const deployedBy = await getRun(db, decision.deployedBy);
    if (deployedBy) return { alreadyDeployed: deployedBy };
  }
  const rows = await db.query<DeploymentRunRecord>(
    `SELECT ${RUN_COLUMNS} FROM deployment_runs WHERE workflow_id = $1 AND run_id = $2`,
    [r.workflowId, r.runId],
  );
  return { run: rows[0] as DeploymentRunRecord };
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
