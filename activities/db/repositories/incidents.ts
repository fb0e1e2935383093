import type { Queryable } from '../pool';

/** What an incident is about: at most one open incident per key. */
export const incidentKey = {
  renewal: (certificateId: string): string => `renewal:${certificateId}`,
  deploy: (deploymentId: string): string => `deploy:${deploymentId}`,
  notDeployed: (deploymentId: string): string => `not-deployed:${deploymentId}`,
  drift: (deploymentId: string, endpoint: string): string => `drift:${deploymentId}:${endpoint}`,
  servedExpiring: (deploymentId: string, endpoint: string): string => `served-expiring:${deploymentId}:${endpoint}`,
  /** One outage of a dependency outside CertFleet (dependency_health.key), whatever the number of runs it holds. */
  dependency: (dependencyKey: string): string => `dependency:${dependencyKey}`,
} as const;

export type IncidentKind =
  'renewal-failed' | 'deploy-failed' | 'not-deployed' | 'drift' | 'served-expiring' | 'dependency-down';

export interface IncidentRecord {
  id: string;
  key: string;
  kind: IncidentKind;
  certificateId: string | null;
  deploymentId: string | null;
  customerId: string | null;
  title: string;
  detail: string;
  openedAt: Date;
  lastSeenAt: Date;
  occurrences: number;
  alertSentAt: Date | null;
  recoveringSince: Date | null;
  resolvedAt: Date | null;
  recoverySentAt: Date | null;
}

interface Row {
  id: string;
  key: string;
  kind: IncidentKind;
  certificate_id: string | null;
  deployment_id: string | null;
  customer_id: string | null;
  title: string;
  detail: string;
  opened_at: Date;
  last_seen_at: Date;
  occurrences: number;
  alert_sent_at: Date | null;
  recovering_since: Date | null;
  resolved_at: Date | null;
  recovery_sent_at: Date | null;
}
const COLUMNS = `id, key, kind, certificate_id, deployment_id, customer_id, title, detail, opened_at, last_seen_at, occurrences, alert_sent_at,
                 recovering_since, resolved_at, recovery_sent_at`;
const toIncident = (r: Row): IncidentRecord => ({
  id: r.id,
  key: r.key,
  kind: r.kind,
  certificateId: r.certificate_id,
  deploymentId: r.deployment_id,
  customerId: r.customer_id,
  title: r.title,
  detail: r.detail,
  openedAt: r.opened_at,
  lastSeenAt: r.last_seen_at,
  occurrences: r.occurrences,
  alertSentAt: r.alert_sent_at,
  recoveringSince: r.recovering_since,
  resolvedAt: r.resolved_at,
  recoverySentAt: r.recovery_sent_at,
});

export interface IncidentSpec {
  key: string;
  kind: IncidentKind;
  certificateId?: string | null;
  deploymentId?: string | null;
  customerId?: string | null;
  title: string;
  detail: string;
}

/**
 * The problem is there: opens the incident of this key, or, when one is open, counts the occurrence,
 * refreshes its detail and cancels a pending recovery (it failed again). Returns the incident and
 * whether it is new (only a new incident alerts).
 */
export async function observeProblem(
  db: Queryable,
  spec: IncidentSpec,
): Promise<{ incident: IncidentRecord; opened: boolean }> {
  const rows = await db.query<Row & { inserted: boolean }>(
    `INSERT INTO incidents (key, kind, certificate_id, deployment_id, customer_id, title, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (key) WHERE resolved_at IS NULL DO UPDATE
        SET occurrences = incidents.occurrences + 1, last_seen_at = now(), detail = EXCLUDED.detail, title = EXCLUDED.title, recovering_since = NULL
     RETURNING ${COLUMNS}, (xmax = 0) AS inserted`,
    [
      spec.key,
      spec.kind,
      spec.certificateId ?? null,
      spec.deploymentId ?? null,
      spec.customerId ?? null,
      spec.title,
      spec.detail,
    ],
  );
  const row = rows[0] as Row & { inserted: boolean };
  return { incident: toIncident(row), opened: row.inserted };
}

/** The problem is gone: the open incident of this key starts its quiet period (nothing if none is open). */
export async function observeRecovery(db: Queryable, key: string): Promise<IncidentRecord | undefined> {
  const rows = await db.query<Row>(
    `UPDATE incidents SET recovering_since = COALESCE(recovering_since, now())
      WHERE key = $1 AND resolved_at IS NULL RETURNING ${COLUMNS}`,
    [key],
  );
  return rows[0] && toIncident(rows[0]);
}

/** Open incidents whose keys start with the prefix (e.g. every drift incident of a deployment). */
export async function openIncidentKeys(db: Queryable, prefix: string): Promise<string[]> {
  const rows = await db.query<{ key: string }>(
    'SELECT key FROM incidents WHERE resolved_at IS NULL AND left(key, length($1)) = $1',
    [prefix],
  );
  return rows.map((r) => r.key);
}

/** A claim older than this belongs to a sender that died: it may be taken over. */
const STALE_CLAIM = "interval '5 minutes'";

/** Incidents whose alert is not sent and not being sent (oldest first). */
export async function incidentsAwaitingAlert(db: Queryable, limit: number): Promise<IncidentRecord[]> {
  return (
    await db.query<Row>(
      `SELECT ${COLUMNS} FROM incidents WHERE alert_sent_at IS NULL AND (alert_claimed_at IS NULL OR alert_claimed_at < now() - ${STALE_CLAIM}) ORDER BY id LIMIT $1`,
      [limit],
    )
  ).map(toIncident);
}

/** Takes the sending of an incident's alert (or recovery notice); false when someone else has it or it is sent. */
export async function claimNotice(db: Queryable, id: string, notice: 'alert' | 'recovery'): Promise<boolean> {
  const rows = await db.query(
    `UPDATE incidents SET ${notice}_claimed_at = now()
      WHERE id = $1 AND ${notice}_sent_at IS NULL AND (${notice}_claimed_at IS NULL OR ${notice}_claimed_at < now() - ${STALE_CLAIM}) RETURNING id`,
    [id],
  );
  return rows.length > 0;
}

/** A send that did not happen (no SMTP, an error): the notice is free for the next sweep. */
export async function releaseNotice(db: Queryable, id: string, notice: 'alert' | 'recovery'): Promise<void> {
  await db.query(`UPDATE incidents SET ${notice}_claimed_at = NULL WHERE id = $1 AND ${notice}_sent_at IS NULL`, [id]);
}

export async function markAlertSent(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE incidents SET alert_sent_at = now() WHERE id = $1 AND alert_sent_at IS NULL', [id]);
}

/** Incidents quiet for at least `quietMs` since they looked fixed: they end now. */
export async function resolveQuietIncidents(db: Queryable, quietMs: number): Promise<IncidentRecord[]> {
  const rows = await db.query<Row>(
    `UPDATE incidents SET resolved_at = now()
      WHERE resolved_at IS NULL AND recovering_since IS NOT NULL AND recovering_since <= now() - ($1::double precision * interval '1 millisecond')
     RETURNING ${COLUMNS}`,
    [quietMs],
  );
  return rows.map(toIncident);
}

/** Ended incidents whose alert went out and whose recovery notice did not yet. */
export async function incidentsAwaitingRecoveryNotice(db: Queryable, limit: number): Promise<IncidentRecord[]> {
  return (
    await db.query<Row>(
      `SELECT ${COLUMNS} FROM incidents WHERE resolved_at IS NOT NULL AND recovery_sent_at IS NULL AND alert_sent_at IS NOT NULL
          AND (recovery_claimed_at IS NULL OR recovery_claimed_at < now() - ${STALE_CLAIM}) ORDER BY id LIMIT $1`,
      [limit],
    )
  ).map(toIncident);
}

export async function markRecoverySent(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE incidents SET recovery_sent_at = now() WHERE id = $1', [id]);
}

/** An incident that ended before its alert could go out needs neither (nobody was told it began). */
export async function dropUnsentResolved(db: Queryable): Promise<void> {
  await db.query(
    'UPDATE incidents SET alert_sent_at = resolved_at, recovery_sent_at = resolved_at WHERE resolved_at IS NOT NULL AND alert_sent_at IS NULL',
  );
}

export async function listOpenIncidents(
  db: Queryable,
  customerId: string | undefined,
  limit: number,
): Promise<IncidentRecord[]> {
  return (
    await db.query<Row>(
      `SELECT ${COLUMNS} FROM incidents WHERE resolved_at IS NULL AND ($1::bigint IS NULL OR customer_id = $1) ORDER BY opened_at DESC LIMIT $2`,
      [customerId ?? null, limit],
    )
  ).map(toIncident);
}
