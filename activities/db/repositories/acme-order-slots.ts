/** The pacing ledger (migration 0019): orders spent per ACME directory, and the budgets and fallbacks set per directory. */
import type { PacingLimits, SpentSlot } from '../../domain/pacing-budget';
import type { Queryable } from '../pool';

/** Advisory-lock namespace of pacing ("pace"): one lock per directory serialises its reservations. */
const PACING_LOCK_NAMESPACE = 0x70616365;

/** Holds the directory's pacing lock until the transaction ends, and returns the database's clock. */
export async function lockDirectoryBudget(tx: Queryable, directoryId: string): Promise<Date> {
  const rows = await tx.query<{ now: Date }>(
    'SELECT pg_advisory_xact_lock($1::int, $2::int), clock_timestamp() AS now',
    [PACING_LOCK_NAMESPACE, directoryId],
  );
  return (rows[0] as { now: Date }).now;
}

export async function directoryLimits(db: Queryable, directoryId: string): Promise<PacingLimits | undefined> {
  const rows = await db.query<PacingLimits>(
    `SELECT orders_per_account AS "ordersPerAccount", account_window_seconds * 1000 AS "accountWindowMs",
            certificates_per_domain AS "certificatesPerDomain", duplicates_per_identifiers AS "duplicatesPerIdentifiers",
            domain_window_seconds * 1000 AS "domainWindowMs"
       FROM acme_directories WHERE id = $1`,
    [directoryId],
  );
  return rows[0];
}

export async function hasSlotForRun(db: Queryable, runId: string, directoryId: string): Promise<boolean> {
  const rows = await db.query('SELECT 1 FROM acme_order_slots WHERE run_id = $1 AND directory_id = $2', [
    runId,
    directoryId,
  ]);
  return rows.length > 0;
}

/** Slots of the directory spent after `since` (the start of the longest window). */
export async function slotsSince(db: Queryable, directoryId: string, since: Date): Promise<SpentSlot[]> {
  return db.query<SpentSlot>(
    `SELECT spent_at AS "spentAt", registered_domain AS "registeredDomain", identifiers, exempt, renewal
       FROM acme_order_slots WHERE directory_id = $1 AND spent_at > $2`,
    [directoryId, since],
  );
}

export async function insertSlot(
  db: Queryable,
  s: SpentSlot & { directoryId: string; certificateId: string; runId: string },
): Promise<void> {
  await db.query(
    `INSERT INTO acme_order_slots (directory_id, certificate_id, run_id, registered_domain, identifiers, exempt, renewal, spent_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (run_id, directory_id) DO NOTHING`,
    [s.directoryId, s.certificateId, s.runId, s.registeredDomain, s.identifiers, s.exempt, s.renewal, s.spentAt],
  );
}

/** Shown on the certificate page and the dashboard while its run waits; null clears it. */
export async function setRateLimitWait(
  db: Queryable,
  certificateId: string,
  wait: { until: Date; reason: string } | null,
): Promise<void> {
  await db.query('UPDATE certificates SET rate_limit_wait_until = $2, rate_limit_wait_reason = $3 WHERE id = $1', [
    certificateId,
    wait?.until ?? null,
    wait?.reason ?? null,
  ]);
}

/** The directories a certificate's run tries, in order: its own, then its fallbacks (or its directory's). */
export async function directoryPlan(
  db: Queryable,
  certificateId: string,
): Promise<{ directories: { id: string; name: string }[]; fallbackAfterSeconds: number } | undefined> {
  // One statement: the certificate's directory, then its fallbacks in their order (the certificate's own
  // list, else its directory's), each with its name; a fallback that no longer exists is left out.
  const rows = await db.query<{ id: string | null; name: string | null; after: number }>(
    `WITH plan AS (
       SELECT c.acme_directory_id AS primary_id,
              COALESCE(c.fallback_directory_ids, d.fallback_directory_ids) AS fallbacks,
              d.fallback_after_seconds AS after
         FROM certificates c JOIN acme_directories d ON d.id = c.acme_directory_id WHERE c.id = $1)
     SELECT x.id::text AS id, x.name, plan.after
       FROM plan LEFT JOIN LATERAL (
         SELECT a.id, a.name, 0::bigint AS ord FROM acme_directories a WHERE a.id = plan.primary_id
         UNION ALL
         SELECT a.id, a.name, f.ord
           FROM unnest(plan.fallbacks) WITH ORDINALITY AS f(id, ord) JOIN acme_directories a ON a.id = f.id
          WHERE a.id <> plan.primary_id
       ) x ON true
      ORDER BY x.ord`,
    [certificateId],
  );
  const [first] = rows;
  if (!first) return undefined;
  const seen = new Set<string>();
  const directories: { id: string; name: string }[] = [];
  for (const row of rows) {
    if (row.id === null || seen.has(row.id)) continue;
    seen.add(row.id);
    directories.push({ id: row.id, name: row.name ?? `directory ${row.id}` });
  }
  return { directories, fallbackAfterSeconds: first.after };
}

/** A directory's rate-limit budgets and fallbacks, as Settings shows and edits them. */
export interface DirectoryPacing {
  directoryId: string;
  ordersPerAccount: number;
  accountWindowSeconds: number;
  certificatesPerDomain: number;
  duplicatesPerIdentifiers: number;
  domainWindowSeconds: number;
  fallbackDirectoryIds: string[];
  fallbackAfterSeconds: number;
}

const PACING_COLUMNS = `id::text AS "directoryId", orders_per_account AS "ordersPerAccount",
  account_window_seconds AS "accountWindowSeconds", certificates_per_domain AS "certificatesPerDomain",
  duplicates_per_identifiers AS "duplicatesPerIdentifiers", domain_window_seconds AS "domainWindowSeconds",
  fallback_directory_ids::text[] AS "fallbackDirectoryIds", fallback_after_seconds AS "fallbackAfterSeconds"`;

export async function listDirectoryPacing(db: Queryable): Promise<DirectoryPacing[]> {
  return db.query<DirectoryPacing>(`SELECT ${PACING_COLUMNS} FROM acme_directories ORDER BY builtin DESC, id`);
}

export async function setDirectoryPacing(db: Queryable, p: DirectoryPacing): Promise<DirectoryPacing | undefined> {
  const rows = await db.query<DirectoryPacing>(
    `UPDATE acme_directories SET orders_per_account = $2, account_window_seconds = $3, certificates_per_domain = $4,
            duplicates_per_identifiers = $5, domain_window_seconds = $6, fallback_directory_ids = $7::bigint[],
            fallback_after_seconds = $8
      WHERE id = $1 RETURNING ${PACING_COLUMNS}`,
    [
      p.directoryId,
      p.ordersPerAccount,
      p.accountWindowSeconds,
      p.certificatesPerDomain,
      p.duplicatesPerIdentifiers,
      p.domainWindowSeconds,
      p.fallbackDirectoryIds,
      p.fallbackAfterSeconds,
    ],
  );
  return rows[0];
}
