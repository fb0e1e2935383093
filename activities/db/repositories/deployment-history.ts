import type { Queryable } from '../pool';
import type { RunOutcome } from './deployment-runs';

export const RUN_OUTCOMES: RunOutcome[] = ['running', 'ready', 'deployed', 'rolled_back', 'failed'];

export interface DeploymentHistoryFilter {
  outcome?: RunOutcome;
  customerId?: string;
  vendor?: string;
  targetId?: string;
  certificateId?: string;
  page: number;
  pageSize: number;
}

export interface DeploymentHistoryRow {
  runId: string;
  deploymentId: string;
  certificateId: string;
  commonName: string;
  targetId: string;
  targetName: string;
  vendor: string;
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
}

/** Deployment runs across every deployment, newest first, with how many match in all. */
export async function listDeploymentHistory(db: Queryable, f: DeploymentHistoryFilter): Promise<{ rows: DeploymentHistoryRow[]; total: number }> {
  const params = [f.outcome ?? null, f.customerId ?? null, f.vendor ?? null, f.targetId ?? null, f.certificateId ?? null];
  const where = `($1::text IS NULL OR r.outcome = $1) AND ($2::bigint IS NULL OR c.customer_id = $2) AND ($3::text IS NULL OR t.vendor = $3)
             AND ($4::bigint IS NULL OR d.target_id = $4) AND ($5::bigint IS NULL OR d.certificate_id = $5)`;
  const from = `deployment_runs r JOIN deployments d ON d.id = r.deployment_id JOIN certificates c ON c.id = d.certificate_id
                JOIN targets t ON t.id = d.target_id`;
  const [rows, count] = await Promise.all([
    db.query<DeploymentHistoryRow>(
      `SELECT r.id AS "runId", r.deployment_id AS "deploymentId", d.certificate_id AS "certificateId", c.common_name AS "commonName",
              d.target_id AS "targetId", t.name AS "targetName", t.vendor, cu.name AS "customerName", r.trigger, r.outcome, r.error,
              v.serial_hex AS "serialHex", r.workflow_id AS "workflowId", r.run_id AS "workflowRunId", r.started_at AS "startedAt", r.ended_at AS "endedAt"
         FROM ${from} JOIN customers cu ON cu.id = c.customer_id JOIN certificate_versions v ON v.id = r.version_id
        WHERE ${where}
        ORDER BY r.id DESC LIMIT $6 OFFSET $7`,
      [...params, f.pageSize, (f.page - 1) * f.pageSize],
    ),
    db.query<{ n: string }>(`SELECT count(*) AS n FROM ${from} WHERE ${where}`, params),
  ]);
  return { rows, total: Number(count[0]?.n ?? 0) };
}
