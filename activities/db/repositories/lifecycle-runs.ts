import type { Queryable } from '../pool';

export type RecordedOutcome = 'issued' | 'partial' | 'failed';

/**
 * Records how a renewal run ended (once per run; a later call of the same run, after its deploy
 * retries, updates the outcome). Returns whether this call changed what was recorded.
 */
export async function recordLifecycleRun(
  db: Queryable,
  r: {
    certificateId: string;
    workflowId: string;
    runId: string;
    trigger: string;
    outcome: RecordedOutcome;
    reason: string | null;
    startedAt: Date;
  },
): Promise<boolean> {
  const rows = await db.query(
    `INSERT INTO lifecycle_runs (certificate_id, workflow_id, run_id, trigger, outcome, reason, started_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (run_id) DO UPDATE SET outcome = EXCLUDED.outcome, reason = EXCLUDED.reason, ended_at = now()
       WHERE lifecycle_runs.outcome IS DISTINCT FROM EXCLUDED.outcome
     RETURNING id`,
    [r.certificateId, r.workflowId, r.runId, r.trigger, r.outcome, r.reason, r.startedAt],
  );
  return rows.length > 0;
}
