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
