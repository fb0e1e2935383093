/**
 * Rows the Temporal server writes to its own database (the production topology's `temporal` database
 * on the private PostgreSQL), per table, from pg_stat_user_tables: what a phase of the fleet cost in
 * Temporal's persistence. Matching's task-queue backlog shows as rows inserted into `tasks` (a task
 * handed straight to a waiting poller, "sync match", is never written).
 */
import { Client } from 'pg';

/** Rows inserted + deleted per table of the `temporal` database, as counted so far. */
export type TableWrites = Record<string, number>;

export async function temporalTableWrites(adminUrl: string): Promise<TableWrites> {
  const url = new URL(adminUrl);
  url.pathname = '/temporal';
  const client = new Client({ connectionString: url.toString() });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ relname: string; writes: string }>(
      'SELECT relname, n_tup_ins + n_tup_del AS writes FROM pg_stat_user_tables',
    );
    return Object.fromEntries(rows.map((r) => [r.relname, Number(r.writes)]));
  } finally {
    await client.end();
  }
}

/** The tables with the most writes between two readings, per renewal, most first. */
export function writesPerRenewal(before: TableWrites, after: TableWrites, n: number, top = 6): [string, number][] {
  return Object.entries(after)
    .map(([table, count]): [string, number] => [table, (count - (before[table] ?? 0)) / n])
    .filter(([, perRenewal]) => perRenewal > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, top);
}
