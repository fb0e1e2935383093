import type { DeploymentLabels } from './deployments';
import type { Queryable } from '../pool';
import type { RunOutcome } from './deployment-runs';

export const RUN_OUTCOMES: RunOutcome[] = ['running', 'ready', 'deployed', 'rolled_back', 'failed'];

export interface DeploymentHistoryFilter {
  outcome?: RunOutcome;
  customerId?: string;
  vendor?: string;
  targetId?: string;
  certificateId?: string;
  /** Runs older than this run id (keyset paging, newest first). */
  beforeId?: string;
  limit: number;
}

export interface DeploymentHistoryRow extends DeploymentLabels {
  runId: string;
  deploymentId: string;
  customerName: string;
  trigger: string;
  outcome: RunOutcome;
  error: string | null;
  serialHex: string;
  /** The deploy workflow's id and run id, for the Temporal UI. */
  workflowId: string;
  workflowRunId: string;
  startedAt: Date;
  endedAt: Date | null;
  /** A running deploy waiting for its target's maintenance window: when it opens, and the windows' time zone. */
  waitingUntil: Date | null;
  waitingTimeZone: string | null;
}

/**
 * Deployment runs across every deployment, newest first. Paged by run id (like the audit log), so a
 * deep page costs what the first does and no page counts 100,000 runs.
 */
export async function listDeploymentHistory(
  db: Queryable,
  f: DeploymentHistoryFilter,
): Promise<DeploymentHistoryRow[]> {
  return db.query<DeploymentHistoryRow>(
    `SELECT r.id AS "runId", r.deployment_id AS "deploymentId", d.certificate_id AS "certificateId", c.common_name AS "commonName",
            d.target_id AS "targetId", t.name AS "targetName", t.vendor, cu.name AS "customerName", r.trigger, r.outcome, r.error,
            v.serial_hex AS "serialHex", r.workflow_id AS "workflowId", r.run_id AS "workflowRunId", r.started_at AS "startedAt", r.ended_at AS "endedAt",
            CASE WHEN r.outcome = 'running' AND d.status = 'waiting' THEN d.waiting_until END AS "waitingUntil",
            CASE WHEN r.outcome = 'running' AND d.status = 'waiting' THEN d.waiting_time_zone END AS "waitingTimeZone"
       FROM deployment_runs r JOIN deployments d ON d.id = r.deployment_id JOIN certificates c ON c.id = d.certificate_id
       JOIN targets t ON t.id = d.target_id JOIN customers cu ON cu.id = c.customer_id JOIN certificate_versions v ON v.id = r.version_id
      WHERE ($1::text IS NULL OR r.outcome = $1) AND ($2::bigint IS NULL OR c.customer_id = $2) AND ($3::text IS NULL OR t.vendor = $3)
        AND ($4::bigint IS NULL OR d.target_id = $4) AND ($5::bigint IS NULL OR d.certificate_id = $5) AND ($6::bigint IS NULL OR r.id < $6)
      ORDER BY r.id DESC LIMIT $7`,
    [
      f.outcome ?? null,
      f.customerId ?? null,
      f.vendor ?? null,
      f.targetId ?? null,
      f.certificateId ?? null,
      f.beforeId ?? null,
      f.limit,
    ],
  );
}
