import type { Queryable } from '../pool';

export interface RunExchangeRecord {
  step: string;
  at: Date;
  exchange: string;
}

/** A run keeps this many exchanges in all (its last ones). */
export const MAX_RUN_EXCHANGES = 1000;

/** Appends the (already redacted) exchanges of one step and drops the run's oldest beyond the limit. */
export async function appendRunExchanges(
  db: Queryable,
  runId: string,
  step: string,
  exchanges: { at: Date; text: string }[],
): Promise<void> {
  if (exchanges.length === 0) return;
  await db.query(
    `INSERT INTO deployment_run_exchanges (run_id, step, at, exchange)
     SELECT $1, $2, e.at, e.exchange FROM unnest($3::timestamptz[], $4::text[]) AS e(at, exchange)`,
    [runId, step, exchanges.map((e) => e.at), exchanges.map((e) => e.text)],
  );
  await db.query(
    `DELETE FROM deployment_run_exchanges WHERE run_id = $1 AND id < (
       SELECT min(id) FROM (SELECT id FROM deployment_run_exchanges WHERE run_id = $1 ORDER BY id DESC LIMIT $2) AS kept)`,
    [runId, MAX_RUN_EXCHANGES],
  );
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
