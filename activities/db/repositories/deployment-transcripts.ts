import type { Queryable } from '../pool';

export interface RunExchangeRecord {
  step: string;
  at: Date;
  exchange: string;
}

/** A run keeps this many exchanges in all (its last ones). */
export const MAX_RUN_EXCHANGES = 1000;

/**
 * The tail of a statement that appends exchanges ($3 times, $4 texts) of step $2 to run $1 and keeps
 * the run's newest $5: the rows kept are the newest of the inserted ids and those already stored (the
 * DELETE sees the table as it was before the INSERT, so the inserted ids come from its RETURNING).
 */
const APPEND_EXCHANGES = `inserted AS (
       INSERT INTO deployment_run_exchanges (run_id, step, at, exchange)
       SELECT $1, $2, e.at, e.exchange FROM unnest($3::timestamptz[], $4::text[]) AS e(at, exchange)
       RETURNING id),
     kept AS (
       SELECT id FROM (SELECT id FROM inserted UNION ALL SELECT id FROM deployment_run_exchanges WHERE run_id = $1) AS a
        ORDER BY id DESC LIMIT $5)
     DELETE FROM deployment_run_exchanges WHERE run_id = $1 AND id < (SELECT min(id) FROM kept)`;

/** Appends the (already redacted) exchanges of one step and drops the run's oldest beyond the limit, in one statement. */
export async function appendRunExchanges(
  db: Queryable,
  runId: string,
  step: string,
  exchanges: { at: Date; text: string }[],
): Promise<void> {
  if (exchanges.length === 0) return;
  // More than the limit in one step: only its last ones would be kept anyway.
  const last = exchanges.slice(-MAX_RUN_EXCHANGES);
  await db.query(`WITH ${APPEND_EXCHANGES}`, [
    runId,
    step,
    last.map((e) => e.at),
    last.map((e) => e.text),
    MAX_RUN_EXCHANGES,
  ]);
}

export async function listRunExchanges(db: Queryable, runId: string): Promise<RunExchangeRecord[]> {
  return db.query<RunExchangeRecord>(
    'SELECT step, at, exchange FROM deployment_run_exchanges WHERE run_id = $1 ORDER BY id',
    [runId],
  );
}

/** Runs (of these) that have a transcript. */
export async function runsWithTranscript(db: Queryable, runIds: string[]): Promise<Set<string>> {
  if (runIds.length === 0) return new Set();
  const rows = await db.query<{ run_id: string }>(
    'SELECT DISTINCT run_id FROM deployment_run_exchanges WHERE run_id = ANY($1::bigint[])',
    [runIds],
  );
  return new Set(rows.map((r) => String(r.run_id)));
}

/** A run that deployed needs no transcript. */
export async function deleteRunExchanges(db: Queryable, runId: string): Promise<void> {
  await db.query('DELETE FROM deployment_run_exchanges WHERE run_id = $1', [runId]);
}

/**
 * A step's end and its (already redacted) exchanges in one statement: the step row ("succeeded" or
 * "failed", with its detail) and the exchanges appended as appendRunExchanges does, the run's oldest
 * beyond the limit dropped.
 */
export async function endRunStepWithExchanges(
  db: Queryable,
  runId: string,
  step: string,
  end: { status: 'succeeded' | 'failed'; detail: string | null },
  exchanges: { at: Date; text: string }[],
): Promise<void> {
  const last = exchanges.slice(-MAX_RUN_EXCHANGES);
  await db.query(
    `WITH ended AS (
       INSERT INTO deployment_run_steps (run_id, step, status, detail) VALUES ($1, $2, $6, $7)),
     ${APPEND_EXCHANGES}`,
    [runId, step, last.map((e) => e.at), last.map((e) => e.text), MAX_RUN_EXCHANGES, end.status, end.detail],
  );
}
